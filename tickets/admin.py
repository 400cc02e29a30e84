from django.contrib import admin

from tickets.models import RoutingRule


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = ("priority", "name", "active", "topic", "sentiment", "language", "keyword", "team", "urgency")
    list_editable = ("active",)
    list_filter = ("active", "topic", "team")
    search_fields = ("name", "keyword")
    ordering = ("priority", "id")
