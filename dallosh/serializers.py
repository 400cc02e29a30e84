"""What every stage's API shares: the one shape of a refusal, and fields that take a JSON
body's types as the schema states them."""

from django.http import QueryDict
from rest_framework import serializers


class Refusal(serializers.Serializer):
    """Every refusal, by a view or by the framework (dallosh/middleware.api_exception_handler):
    a sentence, or for a malformed body each field's problems."""

    error = serializers.JSONField(help_text="a sentence, or each field's problems (field → sentences)")


def refusals(*codes: int) -> dict:
    """extend_schema responses for these refusals (401, 403 and 429 are on every route: the
    schema's post-processing adds them)."""
    return dict.fromkeys(codes, Refusal)


def _json_body(field: serializers.Field) -> bool:
    """A JSON body (a form's values are all strings: those the fields parse as usual)."""
    return not isinstance(getattr(field.root, "initial_data", None), QueryDict)


class StrictCharField(serializers.CharField):
    """A string, never a number or a boolean turned into one: the schema says string. Its
    length is the one sent (the schema's maxLength), not the one left once trimmed."""

    def to_internal_value(self, data):
        if _json_body(self) and not isinstance(data, str):
            self.fail("invalid")
        if self.max_length is not None and isinstance(data, str) and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """true or false in JSON (a form's "true", "on", "1"… as usual)."""

    def to_internal_value(self, data):
        if _json_body(self) and not isinstance(data, bool):
            self.fail("invalid", input=data)
        return super().to_internal_value(data)


class StrictFloatField(serializers.FloatField):
    """A number in JSON, not "5" or true."""

    def to_internal_value(self, data):
        if _json_body(self) and (isinstance(data, bool) or not isinstance(data, int | float)):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """An integer in JSON, not "5", 5.0 or true."""

    def to_internal_value(self, data):
        if _json_body(self) and (isinstance(data, bool) or not isinstance(data, int)):
            self.fail("invalid")
        return super().to_internal_value(data)
