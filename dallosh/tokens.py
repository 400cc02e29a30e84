"""Each person's own API token: made, shown once, stored only as its hash, expiring, revoked
by its owner; and the authentication the API checks it with.

Ground level because every role may script the API with its own rights: the token is the
person's, whatever their team or role. Every function takes the user whose token it is, never
a token id, so nobody can reach someone else's token through these functions.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions

from dallosh.models import ApiToken

SHOWN_CHARS = 4  # enough to tell two tokens apart, far too few to guess the rest
LAST_USED_EVERY = timedelta(minutes=1)  # a script's every request does not write the date


@dataclass(frozen=True)
class TokenSummary:
    """What the owner sees of an existing token: its first characters, its age, its expiry
    and last use; never the whole key (it is shown once, when it is made, and not kept)."""

    masked: str
    created: datetime
    expires_at: datetime
    last_used_at: datetime | None

    @property
    def expired(self) -> bool:
        return self.expires_at <= datetime.now(UTC)


class TokenExists(Exception):
    """The user already has a token (one a person): revoke it before making another."""


def hashed(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def lifetime() -> timedelta:
    return timedelta(days=settings.DALLOSH_ACCESS.token_days)


def token_summary(user) -> TokenSummary | None:
    """The user's token, masked; None when they have none."""
    token = ApiToken.objects.filter(user=user).first()
    if token is None:
        return None
    return TokenSummary(masked=token.prefix[:SHOWN_CHARS] + "•" * 12, created=token.created,
                        expires_at=token.expires_at, last_used_at=token.last_used_at)


def create_token(user) -> str:
    """A new token for the user: its whole key, for them to copy now (only its hash is kept)."""
    key = secrets.token_hex(20)
    try:
        with transaction.atomic():
            ApiToken.objects.create(user=user, key_hash=hashed(key), prefix=key[:8],
                                    expires_at=datetime.now(UTC) + lifetime())
    except IntegrityError as taken:
        raise TokenExists from taken
    return key


def replace_token(user) -> str:
    """Revoke the user's token, if any, and make a new one (the demo's feed account)."""
    revoke_token(user)
    return create_token(user)


def revoke_token(user) -> bool:
    """Delete the user's token (scripts using it get 401 from now on); False when they had none."""
    deleted, _count = ApiToken.objects.filter(user=user).delete()
    return deleted > 0


class HashedTokenAuthentication(authentication.TokenAuthentication):
    """DRF's "Authorization: Token <key>", checked against the stored hashes; an expired
    token is refused saying so, and its use is dated (at most once a minute)."""

    def authenticate_credentials(self, key):
        token = ApiToken.objects.select_related("user").filter(key_hash=hashed(key)).first()
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        now = datetime.now(UTC)
        if token.expires_at <= now:
            raise exceptions.AuthenticationFailed(_("This token expired on %(date)s; make a new one on your "
                                                    "API token page.") % {"date": f"{token.expires_at:%Y-%m-%d}"})
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_EVERY:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token
