"""System checks: a worker or server with the fast tier on refuses to start on an encoder
whose weights do not match their pinned hashes, or on unreadable starter heads."""

from __future__ import annotations

from django.conf import settings
from django.core import checks

from analysis import classifier, embeddings


@checks.register()
def fast_tier_is_usable(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    if not settings.DALLOSH_ANALYSIS.fast_tier:
        return []
    try:
        embeddings.verified_package(embeddings.ENCODERS[embeddings.DEFAULT_ENCODER])
    except embeddings.EncoderUnavailable as error:
        return [checks.Error(str(error), hint="Reinstall with scripts/bootstrap.sh, or set DALLOSH_FAST_TIER=off "
                                              "to let the LLM chain label every ticket.", id="analysis.E001")]
    try:
        classifier.starter()
    except (OSError, ValueError, KeyError) as error:
        return [checks.Error(f"the starter heads {classifier.STARTER_FILE} cannot be read: {error}",
                             hint="Restore the file from git, or rebuild it: python -m bench.heads --write",
                             id="analysis.E002")]
    return []
