"""Routing rules in the admin: thin, the preview is a selector, the re-routing tickets/routing.py."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tickets import routing, selectors
from tickets.models import RoutingRule

PREVIEW_RECENT = 2000
PREVIEW_EXAMPLES = 5
CONDITIONS = ("topic", "sentiment", "urgency", "language", "author")


class RoutingRuleForm(forms.ModelForm):
    """Keywords as a textarea, one keyword or phrase per line: a long comma-separated line was
    hard to read and to edit."""

    class Meta:
        model = RoutingRule
        fields = "__all__"
        widgets = {"keywords": forms.Textarea(attrs={"rows": 4, "cols": 40})}
        help_texts = {"keywords": gettext_lazy("One keyword or phrase per line (commas also separate them); "
                                               "any of them in the cleaned text, in any case.")}


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    form = RoutingRuleForm
    list_display = ("priority", "name", "active", "when", "then")
    list_display_links = ("name",)
    list_editable = ("active",)
    list_filter = ("active", "topic", "route_to_team")
    search_fields = ("name", "keywords", "author")
    ordering = ("priority", "id")
    fieldsets = (
        (None, {"fields": ("name", "priority", "active")}),
        (gettext_lazy("When (empty conditions match anything)"), {"fields": ("topic", "sentiment", "urgency",
                                                                             "language", "keywords", "author")}),
        (gettext_lazy("Then"), {"fields": ("route_to_team", "set_urgency")}),
    )
    change_form_template = "admin/tickets/routingrule/change_form.html"
    change_list_template = "admin/tickets/routingrule/change_list.html"

    @admin.display(description=gettext_lazy("When"))
    def when(self, rule: RoutingRule) -> str:
        """The rule's conditions on one line, so the list fits a laptop screen."""
        parts = [f"{RoutingRule._meta.get_field(name).verbose_name} = {getattr(rule, name)}"
                 for name in CONDITIONS if getattr(rule, name)]
        keywords = routing.rule_keywords(rule.keywords)
        if keywords:
            parts.append(_("text contains %(keywords)s") % {"keywords": " | ".join(keywords)})
        return " · ".join(parts) or _("any analysed ticket")

    @admin.display(description=gettext_lazy("Then"))
    def then(self, rule: RoutingRule) -> str:
        parts = []
        if rule.route_to_team:
            parts.append(_("team %(team)s") % {"team": rule.route_to_team})
        if rule.set_urgency:
            parts.append(_("urgency %(urgency)s") % {"urgency": rule.set_urgency})
        return " · ".join(parts)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict | None = None) -> HttpResponse:
        rule = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if rule is not None:
            context["preview"] = rule_preview(rule)
        return super().change_view(request, object_id, form_url, extra_context=context)

    def get_urls(self) -> list:
        return [path("reroute/", self.admin_site.admin_view(self.reroute_view), name="tickets_routingrule_reroute"),
                path("preview/", self.admin_site.admin_view(self.preview_view), name="tickets_routingrule_preview"),
                *super().get_urls()]

    def preview_view(self, request: HttpRequest) -> JsonResponse:
        """POST the change form's current values: what the rule AS EDITED would match, before
        it is saved. The values are checked by the admin's own form; nothing is written."""
        if request.method != "POST":
            return JsonResponse({"error": _("Send the rule's values with POST.")}, status=405)
        if not (self.has_add_permission(request) or self.has_change_permission(request)):
            raise PermissionDenied
        form = self.get_form(request)(request.POST, instance=RoutingRule())
        if not form.is_valid():
            error = _preview_error(form)
            return JsonResponse({"error": error, "html": _preview_html(request, error=error)}, status=400)
        preview = rule_preview(form.instance)
        return JsonResponse({**preview, "html": _preview_html(request, preview=preview)})

    def reroute_view(self, request: HttpRequest) -> HttpResponse:
        """POST: re-route open, unassigned tickets with the current rules, on a worker."""
        if request.method == "POST" and self.has_change_permission(request):
            routing.enqueue_reroute(requested_by=request.user.get_username())
            messages.success(request, _("Re-routing of open, unassigned tickets has been queued for a worker."))
        return HttpResponseRedirect(reverse("admin:tickets_routingrule_changelist"))


def rule_preview(rule: RoutingRule) -> dict:
    """What `rule` (saved or not) matches among the recent analysed tickets, each example
    with its ticket page's address."""
    preview = selectors.rule_preview(rule=rule, recent=PREVIEW_RECENT, examples=PREVIEW_EXAMPLES)
    examples = [{**example, "url": reverse("tickets:ticket", args=[example["id"]])} for example in preview.examples]
    return {"scanned": preview.scanned, "matched": preview.matched, "examples": examples}


def _preview_error(form: forms.ModelForm) -> str:
    """The form's errors in one sentence an admin can act on: which field, and what is wrong."""
    parts = []
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        parts.extend(f"{label}: {error}" if label else str(error) for error in errors)
    return _("No preview until the rule is valid: %(errors)s") % {"errors": " ".join(parts)}


def _preview_html(request: HttpRequest, **context) -> str:
    return render_to_string("admin/tickets/routingrule/_preview.html", context, request=request)
