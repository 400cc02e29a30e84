"""Tickets through the REST API (DRF): the same selectors, services and permission rules as
the pages, for integrations and scripts."""

from __future__ import annotations

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from dallosh import permissions
from dallosh.serializers import StrictBooleanField, StrictCharField, refusals
from dallosh.vocabulary import labels_in_force
from tickets import actions, queue_pages, selectors
from tickets.events import row_key
from tickets.forms import queue_request


class QueueRowSerializer(serializers.Serializer):
    id = serializers.CharField(source="_id")
    key = serializers.SerializerMethodField()
    team = serializers.CharField()
    status = serializers.CharField()
    urgency = serializers.CharField()
    topic = serializers.CharField(allow_null=True)
    sentiment = serializers.CharField(allow_null=True)
    summary = serializers.CharField(source="analysis.summary", default="")
    subject = serializers.CharField(default="")
    language = serializers.CharField(allow_null=True, default=None)
    channel = serializers.CharField(default="twitter", help_text="twitter, email or call")
    customer = serializers.CharField(help_text="a Twitter handle, an e-mail address or a caller's number")
    created_at = serializers.DateTimeField()
    sla_due_at = serializers.DateTimeField(allow_null=True, default=None)
    sla_state = serializers.CharField(allow_null=True, default=None)
    assignee = serializers.CharField(allow_null=True, default=None)
    version = serializers.IntegerField(default=0)
    unsure = serializers.SerializerMethodField(
        help_text="the labels in force are the fast tier's, with a field below its threshold, and neither the LLM "
                  "nor an agent has settled them yet (`?unsure=1` lists these)")

    def get_key(self, row: dict) -> str:
        return row_key(row)

    def get_unsure(self, row: dict) -> bool:
        return bool(row.get("unsure"))


class TicketDetailSerializer(QueueRowSerializer):
    analysis = serializers.DictField(allow_null=True)
    correction = serializers.DictField(allow_null=True)
    withdrawn_corrections = serializers.ListField(
        child=serializers.DictField(), help_text="corrections withdrawn by their author or a manager (with "
        "withdrawn_by and withdrawn_at): kept for audit, no longer the ticket's labels, never learned from")
    routing_rule = serializers.CharField(allow_null=True)
    notes = serializers.ListField(child=serializers.DictField())
    audit = serializers.ListField(child=serializers.DictField())
    tweet_ids = serializers.ListField(child=serializers.CharField())


class AnalysisSerializer(serializers.Serializer):
    ticket = serializers.CharField()
    answer = serializers.DictField()
    correction = serializers.DictField(allow_null=True)
    labels = serializers.DictField(help_text="the labels in force: the agent's correction over the model's answer")
    routing_rule = serializers.CharField(allow_null=True)




class QueuePageSerializer(serializers.Serializer):
    results = QueueRowSerializer(many=True)
    next = serializers.CharField(allow_null=True)
    searched_until = serializers.DateTimeField(allow_null=True)


class QueueView(APIView):
    """GET a page of a team's queue; `after` is the previous page's `next` (400 otherwise)."""

    permission_classes = [permissions.CanUseQueues]

    @extend_schema(parameters=[
        *[OpenApiParameter(name, OpenApiTypes.STR, description="a value outside the vocabulary is ignored, "
                           "as an old link still opens the queue") for name in (
            "status", "topic", "sentiment", "language", "channel", "holder")],
        OpenApiParameter("unsure", OpenApiTypes.STR, description="`1`: only the tickets whose labels the machine "
                         "is unsure of (in the queue's order: breached, most urgent, oldest first); any other value "
                         "is ignored, as an old link still opens the queue"),
        OpenApiParameter("q", OpenApiTypes.STR, description="words searched in the tickets"),
        OpenApiParameter("after", OpenApiTypes.STR, description="the previous page's `next`, as it was given; any "
                         "other value is refused (400)")],
        responses={200: QueuePageSerializer, **refusals(400, 404)})
    def get(self, request: Request, team: str) -> Response:
        if not permissions.can_view_team(request.user, team):
            raise Http404(_("No such queue among yours."))
        view = queue_request(request.query_params)
        if view.error:
            return Response({"error": view.error}, status=status.HTTP_400_BAD_REQUEST)
        page = queue_pages.queue_page(team=team, filters=view.filters, username=request.user.get_username(),
                                    cursor=view.cursor)
        return Response({"results": QueueRowSerializer(page.rows, many=True).data, "next": page.next_cursor,
                         "searched_until": page.searched_until})


class TicketView(APIView):
    permission_classes = [permissions.CanUseQueues]

    @extend_schema(responses={200: TicketDetailSerializer, **refusals(404)})
    def get(self, request: Request, ticket_id: str) -> Response:
        ticket = selectors.visible_ticket(user=request.user, ticket_id=ticket_id)
        data = QueueRowSerializer(ticket).data
        data |= {"analysis": _plain(ticket.get("analysis")), "correction": _plain(ticket.get("correction")),
                 "withdrawn_corrections": _plain(ticket.get("withdrawn_corrections", [])),
                 "routing_rule": ticket.get("routing_rule"), "notes": _plain(ticket.get("notes", [])),
                 "audit": _plain(ticket.get("audit", [])), "tweet_ids": ticket.get("tweet_ids", [])}
        return Response(data)


class AnalysisView(APIView):
    """GET /analyses/<ticket id>: the model's answer as it was given (provider, model, tokens,
    fallbacks, prompt version, review flag), the agent's correction if any, and the labels
    the queues use (the correction wins), for integrations that audit the analysis."""

    permission_classes = [permissions.CanUseQueues]

    @extend_schema(responses={200: AnalysisSerializer, **refusals(404)})
    def get(self, request: Request, ticket_id: str) -> Response:
        ticket = selectors.visible_ticket(user=request.user, ticket_id=ticket_id)
        if not ticket.get("analysis"):
            raise Http404(_("This ticket has not been analysed yet."))
        return Response(AnalysisSerializer({
            "ticket": ticket["_id"], "answer": _plain(ticket["analysis"]),
            "correction": _plain(ticket.get("correction")),
            "labels": labels_in_force(ticket["analysis"], ticket.get("correction")),
            "routing_rule": ticket.get("routing_rule")}).data)


class ActionBodySerializer(serializers.Serializer):
    """An action's body: a JSON object of strings (a form's fields, for scripts). Its shape
    is checked here, so a body that is a list, null or a number is a 400, not a crash; what
    the values mean (a known status, an agent of the team) is the services' to refuse."""

    assignee = StrictCharField(required=False, allow_blank=True, default="")
    status = StrictCharField(required=False, allow_blank=True, default="")
    team = StrictCharField(required=False, allow_blank=True, default="")
    reason = StrictCharField(required=False, allow_blank=True, default="")
    text = StrictCharField(required=False, allow_blank=True, default="", trim_whitespace=False)
    # correct: the labels an agent sets (their values are the correction form's to check)
    sentiment = StrictCharField(required=False, allow_blank=True, default="")
    topic = StrictCharField(required=False, allow_blank=True, default="")
    urgency = StrictCharField(required=False, allow_blank=True, default="")
    actionable = StrictBooleanField(required=False, default=False)


class TicketActionView(APIView):
    """POST /tickets/<id>/<action>: claim, release, assign {assignee}, status {status},
    reroute {team, reason}, note {text}, reply {text}, correct {sentiment, topic, urgency, actionable},
    withdraw_correction (its author or a manager: the model's labels stand again)."""

    permission_classes = [permissions.CanUseQueues]

    @extend_schema(parameters=[OpenApiParameter("action", str, OpenApiParameter.PATH, enum=list(actions.ACTIONS),
                                                description="an action of tickets/actions.py (another is a 404)")],
                   request={"application/json": ActionBodySerializer},
                   responses={200: QueueRowSerializer, **refusals(400, 403, 404, 409)})
    def post(self, request: Request, ticket_id: str, action: str) -> Response:
        body = ActionBodySerializer(data=request.data)
        if not body.is_valid():
            return Response({"error": body.errors}, status=status.HTTP_400_BAD_REQUEST)
        # A refusal is a domain error: dallosh.middleware.api_exception_handler answers it.
        ticket = actions.run(name=action, ticket_id=ticket_id, user=request.user, data=body.validated_data)
        return Response(QueueRowSerializer(ticket).data)


def _plain(value):
    """Mongo values as JSON: datetimes as ISO strings."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value.isoformat() if hasattr(value, "isoformat") else value
