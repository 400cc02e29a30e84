"""Routing rules in the admin: thin, the preview is a selector, the re-routing tickets/routing.py."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse

from tickets import routing, selectors
from tickets.models import RoutingRule

PREVIEW_RECENT = 2000
PREVIEW_EXAMPLES = 5


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = ("priority", "name", "active", "topic", "sentiment", "urgency", "language", "keywords", "author",
                    "route_to_team", "set_urgency")
    list_editable = ("active",)
    list_filter = ("active", "topic", "route_to_team")
    search_fields = ("name", "keywords", "author")
    ordering = ("priority", "id")
    fieldsets = (
        (None, {"fields": ("name", "priority", "active")}),
        ("When (empty conditions match anything)", {"fields": ("topic", "sentiment", "urgency", "language",
                                                                "keywords", "author")}),
        ("Then", {"fields": ("route_to_team", "set_urgency")}),
    )
    change_form_template = "admin/tickets/routingrule/change_form.html"
    change_list_template = "admin/tickets/routingrule/change_list.html"

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict | None = None) -> HttpResponse:
        rule = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if rule is not None:
            context["preview"] = selectors.rule_preview(rule=rule, recent=PREVIEW_RECENT, examples=PREVIEW_EXAMPLES)
        return super().change_view(request, object_id, form_url, extra_context=context)

    def get_urls(self) -> list:
        return [path("reroute/", self.admin_site.admin_view(self.reroute_view), name="tickets_routingrule_reroute"),
                *super().get_urls()]

    def reroute_view(self, request: HttpRequest) -> HttpResponse:
        """POST: re-route open, unassigned tickets with the current rules, on a worker."""
        if request.method == "POST" and self.has_change_permission(request):
            routing.enqueue_reroute(requested_by=request.user.get_username())
            messages.success(request, "Re-routing of open, unassigned tickets has been queued for a worker.")
        return HttpResponseRedirect(reverse("admin:tickets_routingrule_changelist"))
