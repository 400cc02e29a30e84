"""What the analysis stage's tests share."""

import pytest

from analysis.drafts import services as draft_services


@pytest.fixture
def refine_broker(servers, monkeypatch):
    """The refine cluster's queue on the test Redis (where the web request puts draft tasks),
    emptied at the end: no worker of a later test is handed these drafts."""
    from django_q.brokers import get_broker
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "REDIS", servers["redis"])
    queue = get_broker(draft_services.REFINE_CLUSTER)
    yield queue
    queue.purge_queue()
