"""Routing rules through the REST API, for admins (the admin pages edit the same rules)."""

from __future__ import annotations

from rest_framework import pagination, serializers, viewsets
from rest_framework.permissions import BasePermission

from dallosh import permissions
from tickets.models import RoutingRule


class IsAdmin(BasePermission):
    message = "Routing rules are for admins."

    def has_permission(self, request, view) -> bool:
        return permissions.is_admin(request.user)


class RoutingRuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = RoutingRule
        fields = ["id", "name", "priority", "active", "topic", "sentiment", "urgency", "language", "keywords",
                  "author", "route_to_team", "set_urgency", "updated_at"]
        read_only_fields = ["updated_at"]

    def validate(self, attrs: dict) -> dict:
        merged = {**({} if self.instance is None else {"route_to_team": self.instance.route_to_team,
                                                        "set_urgency": self.instance.set_urgency}), **attrs}
        if not merged.get("route_to_team") and not merged.get("set_urgency"):
            raise serializers.ValidationError("A rule must set a team, an urgency, or both.")
        return attrs


class RulePages(pagination.PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500


class RoutingRuleViewSet(viewsets.ModelViewSet):
    queryset = RoutingRule.objects.order_by("priority", "id")
    serializer_class = RoutingRuleSerializer
    permission_classes = [IsAdmin]
    pagination_class = RulePages
