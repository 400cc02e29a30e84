"""Alert rules in the admin (what is raised lives in MongoDB and shows on the dashboard)."""

from django.contrib import admin

from dashboard.models import AlertRule


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "active", "team", "threshold", "window_minutes", "min_tickets")
    list_editable = ("active",)
    list_filter = ("kind", "active")
