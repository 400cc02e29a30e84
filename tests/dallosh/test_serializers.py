"""The fields every API shares (dallosh/serializers.py) take a JSON body's types as the schema
states them, refusing the coercions DRF makes by default (5 for a string, "true" for a
boolean, "5" or 5.0 for an integer), while a form's values, all strings, parse as usual;
and every refusal has the one documented shape."""

import pytest
from django.http import QueryDict
from rest_framework import serializers

from dallosh.serializers import Refusal, StrictBooleanField, StrictCharField, StrictIntegerField, refusals

pytestmark = pytest.mark.no_servers


class Action(serializers.Serializer):
    text = StrictCharField(required=False, max_length=10)
    actionable = StrictBooleanField(required=False)
    limit = StrictIntegerField(required=False)


def errors(data) -> dict:
    action = Action(data=data)
    assert not action.is_valid()
    return {field: [str(problem) for problem in problems] for field, problems in action.errors.items()}


def test_a_json_body_must_send_each_field_with_the_type_the_schema_states():
    assert errors({"text": 5, "actionable": "true", "limit": "5"}) == {
        "text": ["Not a valid string."], "actionable": ["Must be a valid boolean."],
        "limit": ["A valid integer is required."]}
    for not_an_integer in (5.0, True):
        assert errors({"limit": not_an_integer}) == {"limit": ["A valid integer is required."]}
    valid = Action(data={"text": " fibre ", "actionable": False, "limit": 5})
    assert valid.is_valid(), valid.errors
    assert valid.validated_data == {"text": "fibre", "actionable": False, "limit": 5}


def test_a_forms_strings_parse_as_usual():
    form = Action(data=QueryDict("text=fibre&actionable=on&limit=5"))
    assert form.is_valid(), form.errors
    assert form.validated_data == {"text": "fibre", "actionable": True, "limit": 5}


def test_a_strings_length_is_the_one_sent_not_the_one_left_once_trimmed():
    assert errors({"text": "   fibre   "}) == {"text": ["Ensure this field has no more than 10 characters."]}
    assert Action(data={"text": "fibre down"}).is_valid()  # 10 characters exactly


def test_refusals_name_the_one_refusal_shape_for_each_code():
    assert refusals(400, 404) == {400: Refusal, 404: Refusal}
    assert Refusal(data={"error": "Unknown team."}).is_valid()
    assert Refusal(data={"error": {"text": ["Not a valid string."]}}).is_valid()
