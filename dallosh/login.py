"""The login, throttled: repeated failed logins for one account (or from one address) lock
it for the rest of the window, with a message that says so, instead of letting a script try
passwords without end. Counted in MongoDB (dallosh/rates), so every server agrees."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from dallosh import rates

PER_ADDRESS = 4  # an address may fail for 4 accounts' worth (an office behind one NAT)


class ThrottledAuthenticationForm(AuthenticationForm):
    def clean(self):
        lockout = settings.DALLOSH_ACCESS
        window = timedelta(minutes=lockout.login_window_minutes)
        account = (self.data.get("username") or "").strip().casefold()[:150]
        address = self.request.META.get("REMOTE_ADDR", "") if self.request else ""
        keys = (("failed-login", account), ("failed-login-address", address))
        limits = (lockout.login_failures, lockout.login_failures * PER_ADDRESS)
        if any(rates.current(what=what, who=who, window=window) >= limit
               for (what, who), limit in zip(keys, limits, strict=True)):
            raise ValidationError(_("Too many failed logins: logging in is locked for up to %(minutes)d minutes. "
                                    "Wait, or ask an administrator to reset your password.")
                                  % {"minutes": lockout.login_window_minutes}, code="locked")
        try:
            return super().clean()
        except ValidationError:
            for what, who in keys:
                rates.count(what=what, who=who, window=window)
            raise


class ThrottledLoginView(LoginView):
    form_class = ThrottledAuthenticationForm
