"""KPIs through the REST API: the same report as the KPI page, for managers."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from dallosh import permissions
from dashboard import selectors
from dashboard.forms import kpi_view
from dashboard.views import kpi_tables


class CanReadKpis(BasePermission):
    message = "The KPIs are for managers."

    def has_permission(self, request, view) -> bool:
        return permissions.can_read_kpis(request.user)


FILTERS = [OpenApiParameter(name, OpenApiTypes.STR, description=description) for name, description in (
    ("period", "24h, 7d, 30d, 90d, all (default) or custom"), ("from", "custom period start, YYYY-MM-DD"),
    ("to", "custom period end (inclusive), YYYY-MM-DD"), ("team", "a team"), ("topic", "a topic"),
    ("sentiment", "a sentiment"), ("language", "an ISO language code"))]


class KpiView(APIView):
    """Every KPI table of one view (period and label filters, as on the KPI page)."""

    permission_classes = [CanReadKpis]

    @extend_schema(parameters=FILTERS, responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        view = kpi_view(request.query_params)
        if view.error:
            return Response({"error": view.error}, status=400)
        report = selectors.kpi_report(filters=view.filters)
        tables = {name: {"columns": header, "rows": rows} for name, (header, rows) in kpi_tables(report).items()}
        return Response({"grain": report.grain, "period": view.period, "tables": tables})


class AlertListView(APIView):
    """Open alerts, newest first (managers)."""

    permission_classes = [CanReadKpis]

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        alerts = selectors.alerts_for(user=request.user, limit=100)
        return Response([{key: value for key, value in alert.items() if key != "group_sizes"} for alert in alerts])


class HealthView(APIView):
    """Tasks waiting for a worker, worker clusters alive, provider tiers, ingest jobs running (managers)."""

    permission_classes = [CanReadKpis]

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        health = selectors.system_health()
        return Response({
            "tasks_queued": health["tasks_queued"], "broker_error": health["broker_error"],
            "jobs_running": health["jobs_running"],
            "clusters": [vars(cluster) for cluster in health["clusters"]],
            "providers": [{"tier": p.tier, "model": p.model, "state": p.state, "open_until": p.open_until,
                           "consecutive_failures": p.consecutive_failures} for p in health["providers"]]})
