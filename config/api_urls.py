"""The REST API (v1): every app's endpoints under /api/v1/, and its OpenAPI schema."""

from django.contrib.auth.decorators import login_required
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from dallosh import vocabulary
from dashboard import api as dashboard_api
from ingestion import api
from tickets import api as tickets_api
from tickets import rules_api


def urgency_choices() -> list[tuple[str, str]]:
    """For the schema's enum names (settings.SPECTACULAR_SETTINGS)."""
    return vocabulary.choices("urgency")


# What any route may answer, whatever its own refusals: no or a bad token, a role that may
# not use it, too many requests (settings.REST_FRAMEWORK's throttles).
EVERY_ROUTE = {"401": "Not authenticated: no or a bad token, no session.",
               "403": "This user's role may not use this route (or refuses this action).",
               "429": "Too many requests: wait the Retry-After seconds."}


def document_every_route(result: dict, generator, request, public) -> dict:
    """A post-processing hook (settings.SPECTACULAR_SETTINGS): 401, 403 and 429 on every
    operation, as a Refusal."""
    refusal = {"application/json": {"schema": {"$ref": "#/components/schemas/Refusal"}}}
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for code, description in EVERY_ROUTE.items():
                responses.setdefault(code, {"content": refusal, "description": description})
    return result


# The browsable docs are a page for people: someone not logged in is sent to the login page
# (an integrator's script reads /schema with its token instead).
docs = login_required(SpectacularSwaggerView.as_view(url_name="api-schema", template_name="api/docs.html"))

router = SimpleRouter(trailing_slash=False)
router.register("routing-rules", rules_api.RoutingRuleViewSet, basename="api-routing-rule")

urlpatterns = [
    path("schema", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs", docs, name="api-docs"),
    path("ingest/stream", api.StreamIngestView.as_view(), name="api-ingest-stream"),
    path("ingest/mail", api.MailIngestView.as_view(), name="api-ingest-mail"),
    path("ingest/calls", api.CallIngestView.as_view(), name="api-ingest-calls"),
    path("ingest/jobs", api.IngestJobListView.as_view(), name="api-ingest-jobs"),
    path("ingest/jobs/<str:job_id>", api.IngestJobView.as_view(), name="api-ingest-job"),
    path("queues/<str:team>/tickets", tickets_api.QueueView.as_view(), name="api-queue"),
    path("tickets/<str:ticket_id>", tickets_api.TicketView.as_view(), name="api-ticket"),
    path("tickets/<str:ticket_id>/<str:action>", tickets_api.TicketActionView.as_view(), name="api-ticket-action"),
    path("analyses/<str:ticket_id>", tickets_api.AnalysisView.as_view(), name="api-analysis"),
    path("kpis", dashboard_api.KpiView.as_view(), name="api-kpis"),
    path("alerts", dashboard_api.AlertListView.as_view(), name="api-alerts"),
    path("health", dashboard_api.HealthView.as_view(), name="api-health"),
    *router.urls,
]
