"""JSON from people's requests, parsed so that no input can crash the request.

The standard library's parser recurses once per nesting level: on Python 3.13 a document
nested ~100,000 deep (`"[" * 100_000`) raises RecursionError, which no caller expects from
bad input (it answered 500). Here it is the ValueError every caller already turns into a
clear 400.
"""

from __future__ import annotations

import json
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser as DRFJSONParser


def loads(text: str | bytes) -> Any:
    """json.loads, with nesting too deep to parse reported as a ValueError."""
    try:
        return json.loads(text)
    except RecursionError as error:
        raise ValueError("JSON nested too deeply") from error


class JSONParser(DRFJSONParser):
    """The API's JSON parser: too deep a document is a parse error (400), not a crash."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as error:
            raise ParseError("JSON parse error - nested too deeply") from error
