"""Each person's own API token (DRF authtoken): made, shown masked, revoked by its owner.

Ground level because every role may script the API with its own rights: the token is the
person's, whatever their team or role. Every function takes the user whose token it is, never
a token id, so nobody can reach someone else's token through these functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rest_framework.authtoken.models import Token

SHOWN_CHARS = 4  # enough to tell two tokens apart, far too few to guess the rest


@dataclass(frozen=True)
class TokenSummary:
    """What the owner sees of an existing token: its first characters and its age, never the
    whole key (it is shown once, when it is made)."""

    masked: str
    created: datetime


class TokenExists(Exception):
    """The user already has a token (one a person): revoke it before making another."""


def token_summary(user) -> TokenSummary | None:
    """The user's token, masked; None when they have none."""
    token = Token.objects.filter(user=user).first()
    if token is None:
        return None
    return TokenSummary(masked=token.key[:SHOWN_CHARS] + "•" * 12, created=token.created)


def create_token(user) -> str:
    """A new token for the user: its whole key, for them to copy now (it is never shown again)."""
    token, created = Token.objects.get_or_create(user=user)
    if not created:
        raise TokenExists
    return token.key


def revoke_token(user) -> bool:
    """Delete the user's token (scripts using it get 401 from now on); False when they had none."""
    deleted, _ = Token.objects.filter(user=user).delete()
    return deleted > 0
