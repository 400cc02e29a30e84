"""The MongoDB connection (mongoengine), in one place.

The connection is lazy: Django starts without touching MongoDB, and the first query opens
it. `connect(uri)` may be called again (the test session does, once its server is up).
"""

from __future__ import annotations

from datetime import UTC, datetime

import mongoengine
from django.conf import settings
from pymongo.database import Database
from pymongo.errors import ServerSelectionTimeoutError

ALIAS = "default"


def connect(uri: str | None = None) -> None:
    """(Re)connect mongoengine to `uri` (default: settings.MONGODB_URI)."""
    uri = uri or settings.MONGODB_URI
    mongoengine.disconnect(alias=ALIAS)
    mongoengine.connect(host=uri, alias=ALIAS, connect=False, tz_aware=True, uuidRepresentation="standard")
    _forget_cached_collections()


def unreachable(error: ServerSelectionTimeoutError) -> str:
    """What a command says when MongoDB does not answer: where it looked and what to do, not
    the driver's topology dump (nor the URI, which may hold a password)."""
    first = str(error).split(" (configured timeouts", 1)[0].split(", Timeout:", 1)[0]
    return (f"MongoDB does not answer ({first}): start it (python -m config.embedded start, "
            "as scripts/demo.sh does) or point MONGODB_URI at a running server")


def as_utc(moment: datetime) -> datetime:
    """A datetime read back from MongoDB, as aware UTC: BSON dates carry no zone, and a
    connection or a driver that is not tz-aware hands them back naive (they are UTC)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def database() -> Database:
    return mongoengine.get_db(ALIAS)


def _forget_cached_collections() -> None:
    from mongoengine.base.common import _document_registry

    for document in _document_registry.values():
        if hasattr(document, "_collection"):
            document._collection = None


def document_classes() -> list[type[mongoengine.Document]]:
    from mongoengine.base.common import _document_registry

    return [d for d in _document_registry.values() if not d._meta.get("abstract") and hasattr(d, "objects")]


def ensure_indexes() -> None:
    """Create every declared index now (start-up and tests), not lazily on first use."""
    for document in document_classes():
        document.ensure_indexes()
