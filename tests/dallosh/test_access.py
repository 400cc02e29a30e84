"""Access that changes while a page is open (dallosh/access.py): every way an admin changes
a person's account or groups (deactivating them, emptying a team, taking one member out
from the group's side) closes the live feeds they may no longer hold, with the "not
allowed" code 4403, and leaves the others open; a change no signal announced is caught at
the first event after ACCESS_TTL_S. Through the project's ASGI application, its real
consumers and the Redis channel layer. (A member removed with user.groups.remove, or added,
is tests/tickets/test_consumers.py's.)"""

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Group

from config.asgi import application
from dallosh import access, live
from tests.steps import logged_in

pytestmark = pytest.mark.django_db(transaction=True)  # announcements go out once the change commits

CLOSED = {"type": "websocket.close", "code": 4403}


async def opened(headers, path: str) -> WebsocketCommunicator:
    socket = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await socket.connect(timeout=5)
    assert connected, path
    return socket


async def still_live(socket: WebsocketCommunicator) -> bool:
    """Whether the socket still relays its queue's events (one is published to hear it)."""
    event = {"type": live.TICKET_CHANGED, "id": "twcs:1", "version": 1, "team": "tech", "action": "noted"}
    await sync_to_async(live.publish)({live.queue_group("tech")}, event)
    heard = await socket.receive_json_from(timeout=5)
    await socket.disconnect()
    return heard["id"] == "twcs:1"


def test_deactivating_an_agent_closes_the_feed_they_hold(make_user):
    ana = make_user("ana", "tech")
    headers = logged_in(ana)

    async def scenario():
        queue = await opened(headers, "/ws/queues/tech/")
        ana.is_active = False
        await sync_to_async(ana.save)()
        return await queue.receive_output(timeout=5)

    assert async_to_sync(scenario)() == CLOSED


def test_emptying_a_team_closes_the_sockets_of_everyone_who_was_in_it(make_user):
    """The group's members are known only before the clear (after it, the group has none)."""
    members = [logged_in(make_user("ana", "tech")), logged_in(make_user("tom", "tech"))]
    manager = logged_in(make_user("max", role="manager"))

    async def scenario():
        sockets = [await opened(headers, "/ws/queues/tech/") for headers in members]
        supervisor = await opened(manager, "/ws/queues/tech/")
        team = await sync_to_async(Group.objects.get)(name="team:tech")
        await sync_to_async(team.user_set.clear)()
        return [await socket.receive_output(timeout=5) for socket in sockets], await still_live(supervisor)

    closed, manager_live = async_to_sync(scenario)()
    assert closed == [CLOSED, CLOSED]
    assert manager_live  # a manager reads every queue, team or not


def test_taking_one_member_out_from_the_groups_side_closes_only_their_socket(make_user):
    ana, tom = make_user("ana", "tech"), make_user("tom", "tech")
    ana_headers, tom_headers = logged_in(ana), logged_in(tom)

    async def scenario():
        ana_queue, tom_queue = await opened(ana_headers, "/ws/queues/tech/"), await opened(tom_headers,
                                                                                          "/ws/queues/tech/")
        team = await sync_to_async(Group.objects.get)(name="team:tech")
        await sync_to_async(team.user_set.remove)(ana)
        return await ana_queue.receive_output(timeout=5), await still_live(tom_queue)

    assert async_to_sync(scenario)() == (CLOSED, True)


def test_a_change_no_signal_announced_is_caught_at_the_first_event_after_the_ttl(analysed, make_user, monkeypatch):
    """A membership row deleted by a query (no m2m signal) and an account deleted (none
    either): the ticket page's next event, once the user read at connect is older than
    ACCESS_TTL_S (shortened here from 30 s), reads them again and drops both."""
    monkeypatch.setattr(access, "ACCESS_TTL_S", 0.5)
    ana, tom = make_user("ana", "tech"), make_user("tom", "tech")
    ana_headers, tom_headers = logged_in(ana), logged_in(tom)
    ticket_id = analysed("internet down")[0]
    event = {"type": live.TICKET_CHANGED, "id": ticket_id, "version": 2, "team": "tech", "action": "noted"}

    async def scenario():
        pages = [await opened(headers, f"/ws/tickets/{ticket_id}/") for headers in (ana_headers, tom_headers)]
        await sync_to_async(lambda: ana.groups.through.objects.filter(user=ana, group__name="team:tech").delete())()
        await sync_to_async(tom.delete)()
        assert all([await page.receive_nothing(timeout=0.7) for page in pages])  # nothing announced either change
        await sync_to_async(live.publish)({live.ticket_group(ticket_id)}, event)
        return [(await page.receive_json_from(timeout=5), await page.receive_output(timeout=5)) for page in pages]

    gone = {"id": ticket_id, "version": 2, "gone": True}
    assert async_to_sync(scenario)() == [(gone, CLOSED), (gone, CLOSED)]
