"""The API tokens people script the API with (dallosh/tokens.py has their rules)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ApiToken(models.Model):
    """One person's API token. Only its sha256 is stored (the key is shown once, when it is
    made), with the first characters to tell tokens apart, an expiry and the last use."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_token",
                                verbose_name=_("person"))
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("first characters"), max_length=8, editable=False)
    created = models.DateTimeField(_("made on"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires on"))
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"
