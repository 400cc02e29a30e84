"""API tokens in the admin: who has one, since when, until when, last used; never a key
(only its hash is stored). An admin may delete one; nobody makes one here."""

from django.contrib import admin

from dallosh.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("user", "prefix", "created", "expires_at", "last_used_at")
    readonly_fields = ("user", "prefix", "created", "expires_at", "last_used_at")
    search_fields = ("user__username",)
    exclude = ("key_hash",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
