"""dashboard/tasks.py: the task django-q2 runs every minute, by the dotted path the schedule
names, tells how many alerts it raised or closed (a refreshed one is neither)."""

import pytest
from django_q.tasks import async_task, result

from dashboard.models import Alert, AlertRule
from tickets import services as ticket_services

pytestmark = pytest.mark.django_db


def run_scheduled() -> int:
    """The task as the schedule of dashboard/migrations/0002_alert_watch.py names it, run by
    django-q2 in this process (sync) so the test reads its result."""
    return result(async_task("dashboard.tasks.evaluate_alerts", sync=True))


def test_the_scheduled_task_counts_the_alerts_raised_then_closed(analysed, make_user):
    AlertRule.objects.all().delete()  # the migration's starting rules are tested in test_alerts.py
    AlertRule.objects.create(name="tech backlog", kind="team_backlog", team="tech", threshold=1)
    first, _second = analysed("internet down", "no signal")  # two open tickets in the tech queue
    assert run_scheduled() == 1
    assert Alert.objects(open=True).count() == 1
    assert run_scheduled() == 0  # still over the threshold: refreshed, not raised again
    ana = make_user("ana", "tech")
    ticket_services.claim_ticket(ticket_id=first, user=ana)
    ticket_services.change_status(ticket_id=first, user=ana, status="resolved")  # one left: not over 1
    assert run_scheduled() == 1
    assert Alert.objects(open=True).count() == 0 and Alert.objects.count() == 1
