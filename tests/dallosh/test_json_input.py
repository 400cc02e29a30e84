"""JSON from people's requests (dallosh/json_input.py): nesting too deep for the standard
parser is the ValueError (or DRF's parse error, a 400) every caller expects from bad input,
never a RecursionError (a 500). The API-level answer is in tests/config/test_no_500.py."""

import io
import json

import pytest
from rest_framework.exceptions import ParseError

from dallosh import json_input

pytestmark = pytest.mark.no_servers

DEEP = "[" * 100_000 + "]" * 100_000  # deeper than Python 3.13's parser recurses


def test_json_nested_too_deeply_is_a_value_error_and_ordinary_json_parses_as_usual():
    with pytest.raises(ValueError, match="JSON nested too deeply"):
        json_input.loads(DEEP)
    with pytest.raises(ValueError, match="JSON nested too deeply"):
        json_input.loads(('{"a":' * 100_000).encode())
    assert json_input.loads('{"text": "fibre coupée", "ids": [1, 2]}') == {"text": "fibre coupée", "ids": [1, 2]}
    assert json_input.loads(b"[[[[1]]]]") == [[[[1]]]]
    with pytest.raises(json.JSONDecodeError):  # malformed JSON stays the ValueError it was
        json_input.loads("{'single': 'quotes'}")


def test_the_api_parser_reports_too_deep_a_document_as_a_parse_error():
    parser = json_input.JSONParser()
    with pytest.raises(ParseError, match="nested too deeply"):
        parser.parse(io.BytesIO(DEEP.encode()), "application/json", {})
    assert parser.parse(io.BytesIO(b'{"team": "tech"}'), "application/json", {}) == {"team": "tech"}
