"""What every stage's API shares: the shape of a refusal."""

from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """Every refusal (400, 403, 404, 409, 413, 429): a sentence, or for a malformed body each
    field's problems."""

    error = serializers.JSONField()
