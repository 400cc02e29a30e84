"""dashboard/consumers.py through Channels' communicator, on the project's ASGI application and
the real Redis layer: an agent's alert socket follows their teams as an admin changes them
(who may open which socket is tests/dallosh/test_permissions.py's matrix); a KPI page hears
which ticket moved, and nothing more, for as long as its user may read the KPIs."""

from datetime import UTC, datetime

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Group

from config.asgi import application
from dallosh.permissions import MANAGER_GROUP, team_group
from dashboard import alerts
from dashboard.models import Alert
from tests.steps import logged_in
from tickets import services as ticket_services

pytestmark = pytest.mark.django_db(transaction=True)  # the consumers read users from their own threads

CLOSED = {"type": "websocket.close", "code": 4403}


def stored_alert(team: str) -> str:
    now = datetime.now(UTC)
    return str(Alert(rule_id=1, rule_name=f"{team} backlog", kind="team_backlog", team=team,
                     message=f"{team} backlog", raised_at=now, updated_at=now).save().id)


async def opened(headers, path: str) -> WebsocketCommunicator:
    socket = WebsocketCommunicator(application, path, headers=headers)
    assert (await socket.connect(timeout=5))[0]
    return socket


def test_an_agents_alert_socket_follows_their_teams(make_user):
    ana, max_ = make_user("ana", "tech"), make_user("max", role="manager")
    tech, billing = stored_alert("tech"), stored_alert("billing")
    acknowledge = sync_to_async(alerts.acknowledge_alert)
    billing_team = Group.objects.get_or_create(name=team_group("billing"))[0]
    headers = logged_in(ana)

    async def scenario():
        socket = await opened(headers, "/ws/alerts/")
        await acknowledge(alert_id=billing, user=max_)  # not hers
        await acknowledge(alert_id=tech, user=max_)
        first = await socket.receive_json_from(timeout=5)
        await sync_to_async(ana.groups.add)(billing_team)
        assert await socket.receive_nothing(timeout=1)  # the access change keeps the socket open
        await acknowledge(alert_id=await sync_to_async(stored_alert)("billing"), user=max_)
        second = await socket.receive_json_from(timeout=5)
        await sync_to_async(ana.groups.remove)(billing_team, await sync_to_async(Group.objects.get)(
            name=team_group("tech")))
        return first, second, await socket.receive_output(timeout=5)

    first, second, closed = async_to_sync(scenario)()
    assert first == {"id": tech, "action": "acknowledged", "kind": "team_backlog", "team": "tech",
                     "message": "tech backlog"}  # the event, less its Channels type
    assert (second["action"], second["team"]) == ("acknowledged", "billing")
    assert closed == CLOSED  # no team left: no alert is hers any more


def test_a_kpi_page_hears_which_ticket_moved_until_its_user_is_no_manager(make_user, analysed):
    ticket_id = analysed("internet down")[0]
    max_, ana = make_user("max", role="manager"), make_user("ana", "tech")
    managers, headers = Group.objects.get(name=MANAGER_GROUP), logged_in(max_)

    async def scenario():
        socket = await opened(headers, "/ws/kpis/")
        await sync_to_async(ticket_services.claim_ticket)(ticket_id=ticket_id, user=ana)
        heard = await socket.receive_json_from(timeout=5)
        await sync_to_async(max_.groups.remove)(managers)
        return heard, await socket.receive_output(timeout=5)

    heard, closed = async_to_sync(scenario)()
    assert heard == {"id": ticket_id, "action": "claimed"}  # the page re-reads the figures itself
    assert closed == CLOSED
