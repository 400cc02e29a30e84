"""Websocket consumers through Channels' communicator, on the project's ASGI application
(session auth, origin check) and the real Redis channel layer: who may subscribe, and the
events each service call publishes after its write."""

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator

from analysis import services as analysis_services
from config.asgi import application
from ingestion.services import ingest_records
from tests.helpers import twcs_record
from tests.steps import logged_in
from tickets import services

pytestmark = pytest.mark.django_db(transaction=True)  # the consumers read users from their own threads


def socket(headers, path):
    return WebsocketCommunicator(application, path, headers=headers)


def run(coroutine_function, *args):
    return async_to_sync(coroutine_function)(*args)


async def connect(communicator):
    connected, code = await communicator.connect(timeout=5)
    return connected, code


def test_queue_subscription_follows_team_membership(make_user):
    people = {"tech agent": logged_in(make_user("ana", "tech")),
              "billing agent": logged_in(make_user("bea", "billing")),
              "manager": logged_in(make_user("max", role="manager"))}

    async def scenario():
        outcomes = {}
        for name, headers in people.items():
            communicator = socket(headers, "/ws/queues/tech/")
            outcomes[name] = await connect(communicator)
            await communicator.disconnect()
        anonymous = WebsocketCommunicator(application, "/ws/queues/tech/", headers=[(b"origin", b"http://testserver")])
        outcomes["anonymous"] = await connect(anonymous)
        return outcomes

    outcomes = run(scenario)
    assert outcomes["tech agent"][0] and outcomes["manager"][0]
    assert outcomes["billing agent"] == (False, 4403)
    assert outcomes["anonymous"] == (False, 4403)


def test_foreign_origin_is_refused(make_user):
    headers = logged_in(make_user("ana", "tech"), origin=b"http://evil.example")

    async def scenario():
        return await connect(socket(headers, "/ws/queues/tech/"))

    assert run(scenario)[0] is False


def test_each_service_call_reaches_the_queues_and_ticket_pages_concerned(analysed, make_user):
    ana, bea = make_user("ana", "tech"), make_user("bea", "billing")
    ana_headers, bea_headers = logged_in(ana), logged_in(bea)
    ticket_id = analysed("internet down")[0]

    async def scenario():
        tech_queue, billing_queue = socket(ana_headers, "/ws/queues/tech/"), socket(bea_headers, "/ws/queues/billing/")
        page = socket(ana_headers, f"/ws/tickets/{ticket_id}/")
        for communicator in (tech_queue, billing_queue, page):
            assert (await connect(communicator))[0]
        received = []
        await sync_to_async(services.claim_ticket)(ticket_id=ticket_id, user=ana)
        received.append(("claim", await tech_queue.receive_json_from(timeout=5), await page.receive_json_from(5)))
        await sync_to_async(services.change_status)(ticket_id=ticket_id, user=ana, status="waiting_customer")
        received.append(("status", await tech_queue.receive_json_from(timeout=5), await page.receive_json_from(5)))
        await sync_to_async(services.reroute_ticket)(ticket_id=ticket_id, user=ana, team="billing")
        rerouted = (await tech_queue.receive_json_from(timeout=5), await billing_queue.receive_json_from(timeout=5))
        gone = await page.receive_json_from(timeout=5)
        closed = await page.receive_output(timeout=5)
        for communicator in (tech_queue, billing_queue):
            await communicator.disconnect()
        return received, rerouted, gone, closed

    received, rerouted, gone, closed = run(scenario)
    (_, claim_queue, claim_page), (_, status_queue, status_page) = received
    assert (claim_queue["action"], claim_queue["id"], claim_queue["assignee"], claim_queue["status"]) == (
        "claimed", ticket_id, "ana", "in_progress")
    assert claim_page["version"] == claim_queue["version"] == 2  # analysed (1), claimed (2)
    assert (status_queue["action"], status_page["status"], status_page["version"]) == (
        "status_changed", "waiting_customer", 3)
    # The billing queue's first event is the re-route: the claim and the status change,
    # published before it on the same layer, never reached billing.
    assert all(event["action"] == "rerouted" and event["team"] == "billing" and event["previous_team"] == "tech"
               for event in rerouted)
    assert gone == {"id": ticket_id, "version": 4, "gone": True}  # ana no longer sees it
    assert closed == {"type": "websocket.close", "code": 4403}


def test_an_analysed_ticket_is_announced_to_its_team_queue(analysed, make_user):
    ana = make_user("ana", "tech")
    headers = logged_in(ana)

    async def scenario():
        queue = socket(headers, "/ws/queues/tech/")
        assert (await connect(queue))[0]
        ticket_ids = await sync_to_async(analysed)("fibre down in Lyon", "my bill is wrong")
        event = await queue.receive_json_from(timeout=5)
        # A marker published after the billing ticket's announcement: had that reached the
        # tech queue, it would arrive before the marker.
        await sync_to_async(services.claim_ticket)(ticket_id=ticket_ids[0], user=ana)
        following = await queue.receive_json_from(timeout=5)
        await queue.disconnect()
        return ticket_ids, event, following

    (tech_ticket, _), event, following = run(scenario)
    assert (event["id"], event["action"], event["team"], event["by"]) == (tech_ticket, "analysed", "tech",
                                                                          "system:analysis")
    assert event["key"].startswith("96|")  # priority 3 (high), the queue's sort key
    assert (following["id"], following["action"]) == (tech_ticket, "claimed")  # the billing one never came


def test_an_agent_removed_from_a_team_stops_hearing_it(analysed, make_user):
    """Access is re-checked when an admin changes the agent's groups, not only at connect."""
    from django.contrib.auth.models import Group

    ana, headers, ticket_id = tech_agent_with_a_ticket(analysed, make_user)

    async def scenario():
        queue, page = await open_tech_queue(headers), socket(headers, f"/ws/tickets/{ticket_id}/")
        assert (await connect(page))[0]
        await sync_to_async(ana.groups.remove)(await sync_to_async(Group.objects.get)(name="team:tech"))
        return await queue.receive_output(timeout=5), await page.receive_output(timeout=5)

    assert run(scenario) == ({"type": "websocket.close", "code": 4403}, {"type": "websocket.close", "code": 4403})


def test_a_colleague_added_to_a_team_keeps_their_socket(analysed, make_user):
    """Any change to a user's groups re-checks; what is still allowed stays open and live."""
    from django.contrib.auth.models import Group

    ana, headers, ticket_id = tech_agent_with_a_ticket(analysed, make_user)

    async def scenario():
        queue = await open_tech_queue(headers)
        billing, _ = await sync_to_async(Group.objects.get_or_create)(name="team:billing")
        await sync_to_async(ana.groups.add)(billing)
        return await claim_heard(queue, ticket_id=ticket_id, user=ana)  # still open, still live

    event = run(scenario)
    assert (event["id"], event["action"]) == (ticket_id, "claimed")


def tech_agent_with_a_ticket(analysed, make_user):
    """Ana of the tech team, her browser's headers, and a tech ticket."""
    ana = make_user("ana", "tech")
    return ana, logged_in(ana), analysed("internet down")[0]


async def open_tech_queue(headers):
    queue = socket(headers, "/ws/queues/tech/")
    assert (await connect(queue))[0]
    return queue


async def claim_heard(queue, *, ticket_id: str, user) -> dict:
    """Claim the ticket and return the event the queue socket hears of it, then close."""
    await sync_to_async(services.claim_ticket)(ticket_id=ticket_id, user=user)
    event = await queue.receive_json_from(timeout=5)
    await queue.disconnect()
    return event


def test_an_idle_socket_outlives_the_read_timeouts(analysed, make_user, caplog):
    """channels_redis waits up to 5 s for a message; with redis-py's default 5 s read timeout
    every idle socket broke after ~5 s (a traceback each time). Idle 12 s (two of those
    waits and more), then an event."""
    ana, headers, ticket_id = tech_agent_with_a_ticket(analysed, make_user)

    async def scenario():
        queue = await open_tech_queue(headers)
        idle = await queue.receive_nothing(timeout=12, interval=1)
        crashed = queue.future.done()
        return idle, crashed, await claim_heard(queue, ticket_id=ticket_id, user=ana)

    idle, crashed, event = run(scenario)
    assert idle and not crashed
    assert event["action"] == "claimed"
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]


def test_a_late_parent_tells_the_agents_page_and_queue_where_the_ticket_went(use_tiers, fault_server, make_user):
    ana = make_user("ana", "tech")
    headers = logged_in(ana)
    use_tiers(("openai", fault_server.url))
    ingest_records(records=[twcs_record(8102, "internet down again at home", author="dan", minute=5,
                                        reply_to="8101")], source="twcs")
    analysis_services.analyse_tickets(ticket_ids=["twcs:8102"])
    services.claim_ticket(ticket_id="twcs:8102", user=ana)

    async def scenario():
        queue, page = socket(headers, "/ws/queues/tech/"), socket(headers, "/ws/tickets/twcs:8102/")
        for communicator in (queue, page):
            assert (await connect(communicator))[0]
        await sync_to_async(ingest_records)(records=[twcs_record(8101, "internet down since this morning",
                                                                 author="dan")], source="twcs")
        told = [await queue.receive_json_from(timeout=5), await queue.receive_json_from(timeout=5)]
        seen = await page.receive_json_from(timeout=5)
        for communicator in (queue, page):
            await communicator.disconnect()
        return told, seen

    told, seen = run(scenario)
    assert sorted((event["id"], event["action"], event["assignee"]) for event in told) == [
        ("twcs:8101", "merged", "ana"), ("twcs:8102", "merged_into", None)]
    assert (seen["id"], seen["status"]) == ("twcs:8102", "merged")


def test_a_ticket_moved_into_a_team_the_viewer_just_left_is_not_shown_to_them(analysed, make_user):
    """Ana, of tech and billing, watches a tech ticket; an admin takes her out of billing
    (her page stays: tech is still hers); the ticket is then re-routed to billing: her page
    is told it is gone, with no detail of it."""
    from django.contrib.auth.models import Group

    ana, tom = make_user("ana", "tech", "billing"), make_user("tom", "tech")
    headers, ticket_id = logged_in(ana), analysed("internet down")[0]

    async def scenario():
        page = socket(headers, f"/ws/tickets/{ticket_id}/")
        assert (await connect(page))[0]
        await sync_to_async(ana.groups.remove)(await sync_to_async(Group.objects.get)(name="team:billing"))
        assert await page.receive_nothing(timeout=1)  # the access change left the page open
        await sync_to_async(services.reroute_ticket)(ticket_id=ticket_id, user=tom, team="billing")
        return await page.receive_json_from(timeout=5), await page.receive_output(timeout=5)

    told, closed = run(scenario)
    assert told == {"id": ticket_id, "version": 2, "gone": True}
    assert closed == {"type": "websocket.close", "code": 4403}
