"""Routing rules through the REST API, for admins (the admin pages edit the same rules)."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, pagination, serializers, viewsets
from rest_framework.permissions import BasePermission

from dallosh import permissions
from dallosh.serializers import StrictBooleanField, StrictCharField, StrictIntegerField, refusals
from tickets.models import RoutingRule

SETS_SOMETHING = _("A rule must set a team, an urgency, or both.")


class IsAdmin(BasePermission):
    message = "Routing rules are for admins."

    def has_permission(self, request, view) -> bool:
        return permissions.is_admin(request.user)


class RoutingRuleSerializer(serializers.ModelSerializer):
    """A rule; it must set a team, an urgency, or both (the schema's anyOf says so). A PATCH
    may not blank either action: to clear one, PUT the whole rule."""

    serializer_field_mapping = {**serializers.ModelSerializer.serializer_field_mapping,
                                models.CharField: StrictCharField, models.BooleanField: StrictBooleanField,
                                models.PositiveIntegerField: StrictIntegerField}

    class Meta:
        model = RoutingRule
        fields = ["id", "name", "priority", "active", "topic", "sentiment", "urgency", "language", "keywords",
                  "author", "route_to_team", "set_urgency", "updated_at"]
        read_only_fields = ["updated_at"]
        extra_kwargs = {"name": {"validators": [RegexValidator(r"\S", "A name needs a character that is not a "
                                                                    "space.")]}}

    def build_standard_field(self, field_name, model_field):
        field_class, field_kwargs = super().build_standard_field(field_name, model_field)
        if field_class is serializers.ChoiceField:  # a choice is a string: 1 is not "1"
            field_class = StrictChoiceField
        return field_class, field_kwargs

    def validate(self, attrs: dict) -> dict:
        if self.partial:
            if any(name in attrs and not attrs[name] for name in ("route_to_team", "set_urgency")):
                raise serializers.ValidationError(_("A PATCH cannot blank a rule's team or urgency: PUT the rule."))
            return attrs
        if not attrs.get("route_to_team") and not attrs.get("set_urgency"):
            raise serializers.ValidationError(SETS_SOMETHING)
        return attrs


class StrictChoiceField(serializers.ChoiceField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid_choice", input=data)
        return super().to_internal_value(data)


class RoutingRuleSchema(OpenApiSerializerExtension):
    """A rule's schema: at least one of its two actions set (a PATCH: neither blanked). One
    component serves requests and answers: a stored rule holds to it too (a check constraint)."""

    target_class = RoutingRuleSerializer
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        actions = ("route_to_team", "set_urgency")
        if getattr(self.target, "partial", False):
            for name in actions:
                schema["properties"][name] = _not_blank(schema["properties"][name])
            return schema
        return {**schema, "anyOf": [{"required": [name], "properties": {name: _not_blank(schema["properties"][name])}}
                                    for name in actions]}


def _not_blank(prop: dict) -> dict:
    """An enum property (possibly with "" among its values, or as a $ref/allOf) without the blank."""
    if "enum" in prop:
        return {**prop, "enum": [value for value in prop["enum"] if value]}
    return {"allOf": [prop, {"minLength": 1}]}


class RulePages(pagination.PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request) -> int:
        """A page size that is not a whole number from 1 to 500 is refused, not ignored."""
        value = request.query_params.get(self.page_size_query_param)
        if value is None:
            return self.page_size
        if not value.isdigit() or not 1 <= int(value) <= self.max_page_size:
            raise exceptions.ValidationError(_("page_size: a whole number from 1 to %(max)d")
                                             % {"max": self.max_page_size})
        return int(value)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] |= {"minimum": 1, "maximum": self.max_page_size}
            if parameter["name"] == self.page_query_param:
                parameter["schema"] |= {"minimum": 1}
        return parameters


RULE_ID = OpenApiParameter("id", int, OpenApiParameter.PATH)
# The API documents JSON bodies (forms are still read, for scripts that post them).
JSON_RULE = {"application/json": RoutingRuleSerializer}


@extend_schema_view(
    list=extend_schema(responses={200: RoutingRuleSerializer(many=True), **refusals(400, 404)},
                       description="404: a page past the last."),
    create=extend_schema(request=JSON_RULE, responses={201: RoutingRuleSerializer, **refusals(400)}),
    retrieve=extend_schema(parameters=[RULE_ID], responses={200: RoutingRuleSerializer, **refusals(404)}),
    update=extend_schema(parameters=[RULE_ID], request=JSON_RULE,
                         responses={200: RoutingRuleSerializer, **refusals(400, 404)}),
    partial_update=extend_schema(parameters=[RULE_ID],
                                 request={"application/json": RoutingRuleSerializer(partial=True)},
                                 responses={200: RoutingRuleSerializer, **refusals(400, 404)}),
    destroy=extend_schema(parameters=[RULE_ID], responses={204: None, **refusals(404)}),
)
class RoutingRuleViewSet(viewsets.ModelViewSet):
    queryset = RoutingRule.objects.order_by("priority", "id")
    serializer_class = RoutingRuleSerializer
    permission_classes = [IsAdmin]
    pagination_class = RulePages
