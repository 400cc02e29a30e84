"""KPIs through the REST API: the same report as the KPI page, for managers."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from dallosh import permissions
from dallosh.serializers import refusals
from dashboard import selectors
from dashboard.forms import kpi_view
from dashboard.views import kpi_tables

FILTERS = [OpenApiParameter(name, OpenApiTypes.STR, description=description) for name, description in (
    ("period", "24h, 7d, 30d, 90d, all (default) or custom"), ("from", "custom period start, YYYY-MM-DD"),
    ("to", "custom period end (inclusive), YYYY-MM-DD"), ("team", "a team"), ("topic", "a topic"),
    ("sentiment", "a sentiment"), ("language", "an ISO language code"), ("channel", "twitter, email or call"))]


class KpiTableSerializer(serializers.Serializer):
    columns = serializers.ListField(child=serializers.CharField())
    rows = serializers.ListField(child=serializers.ListField())


class KpiReportSerializer(serializers.Serializer):
    grain = serializers.CharField(help_text="d (days) or h (hours)")
    period = serializers.CharField()
    tables = serializers.DictField(child=KpiTableSerializer())


class AlertSerializer(serializers.Serializer):
    id = serializers.CharField()
    rule_name = serializers.CharField(default="")
    kind = serializers.CharField()
    team = serializers.CharField(allow_null=True, default=None)
    message = serializers.CharField()
    raised_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField(allow_null=True, default=None)
    open = serializers.BooleanField(default=True)
    closed_at = serializers.DateTimeField(allow_null=True, default=None)
    acknowledged_by = serializers.CharField(allow_null=True, default=None)
    acknowledged_at = serializers.DateTimeField(allow_null=True, default=None)
    figures = serializers.DictField(default=dict)
    groups = serializers.DictField(default=dict, help_text="ticket ids by language and by place named")
    ticket_ids = serializers.ListField(child=serializers.CharField(), default=list)


class ClusterSerializer(serializers.Serializer):
    host = serializers.CharField()
    cluster_id = serializers.CharField()
    status = serializers.CharField()
    workers = serializers.IntegerField()
    seen_at = serializers.DateTimeField()


class ProviderStateSerializer(serializers.Serializer):
    tier = serializers.CharField()
    model = serializers.CharField(allow_null=True)
    state = serializers.CharField()
    open_until = serializers.DateTimeField(allow_null=True)
    consecutive_failures = serializers.IntegerField()


class HealthSerializer(serializers.Serializer):
    tasks_queued = serializers.IntegerField(allow_null=True, help_text="null when the broker cannot be reached")
    broker_error = serializers.CharField(allow_blank=True)
    jobs_running = serializers.IntegerField()
    clusters = ClusterSerializer(many=True)
    providers = ProviderStateSerializer(many=True)


class KpiView(APIView):
    """Every KPI table of one view (period and label filters, as on the KPI page)."""

    permission_classes = [permissions.CanReadKpis]

    @extend_schema(parameters=FILTERS, responses={200: KpiReportSerializer, **refusals(400)})
    def get(self, request: Request) -> Response:
        view = kpi_view(request.query_params)
        if view.error:
            return Response({"error": view.error}, status=400)
        report = selectors.kpi_report(filters=view.filters)
        tables = {name: {"columns": header, "rows": rows} for name, (header, rows) in kpi_tables(report).items()}
        return Response({"grain": report.grain, "period": view.period, "tables": tables})


class AlertListView(APIView):
    """Open alerts, newest first (managers)."""

    permission_classes = [permissions.CanReadKpis]

    @extend_schema(responses={200: AlertSerializer(many=True)})
    def get(self, request: Request) -> Response:
        return Response(AlertSerializer(selectors.alerts_for(user=request.user, limit=100), many=True).data)


class HealthView(APIView):
    """Tasks waiting for a worker, worker clusters alive, provider tiers, ingest jobs running (managers)."""

    permission_classes = [permissions.CanReadHealth]

    @extend_schema(responses={200: HealthSerializer})
    def get(self, request: Request) -> Response:
        health = selectors.system_health()
        return Response(HealthSerializer({**health, "clusters": [vars(c) for c in health["clusters"]],
                                          "providers": [vars(p) for p in health["providers"]]}).data)
