"""The test session runs the real servers: SecantusDB (MongoDB protocol) and Redis, on
loopback ports of their own, reached over sockets exactly as in production."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from analysis import classifier, corrections, scorecards
from config import embedded
from config.embedded import stop_group
from dallosh import mongo
from dallosh.conf import TierSettings
from tests.helpers import twcs_record
from tests.steps import child_env, empty_collections, wait_for

pytest_plugins = ["tests.alert_data"]

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def servers(tmp_path_factory):
    base = tmp_path_factory.mktemp("servers")
    mongo_server = embedded.start_secantus(port=embedded.free_port(), storage=base / "mongo",
                                           log=base / "mongodb.log", cache_size="512M")
    redis_server = embedded.start_redis(port=embedded.free_port(), directory=base / "redis", log=base / "redis.log")
    uri = embedded.mongo_uri(mongo_server.port, "dallosh_test")
    os.environ["MONGODB_URI"] = uri
    yield {"mongodb": uri, "redis": redis_server.url}
    redis_server.stop()
    mongo_server.stop()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The schedules the migrations create (sweeper, SLA flagging, alert evaluation, every
    minute) do not run against the test database: a worker cluster a test starts does the
    work the test gives it, and nothing else unless the test asks."""
    from django_q.models import Schedule

    with django_db_blocker.unblock():
        Schedule.objects.all().delete()
    yield


@pytest.fixture(scope="session")
def mongo_connection(servers, django_db_blocker):
    from django.conf import settings

    settings.MONGODB_URI = servers["mongodb"]
    settings.REDIS_URL = servers["redis"]
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "redis": servers["redis"]}
    layer = settings.CHANNEL_LAYERS["default"]  # the production options, on the test server
    settings.CHANNEL_LAYERS = {"default": {**layer, "CONFIG": {
        **layer["CONFIG"], "hosts": [{**layer["CONFIG"]["hosts"][0], "address": servers["redis"]}]}}}
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    mongo.connect(servers["mongodb"])
    mongo.ensure_indexes()
    yield


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the site's default language: a French page request activates French
    in its thread (LocaleMiddleware leaves it active), which would otherwise leak into the next test."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _stores(request):
    """Every test gets the servers and empty collections, except the tests of a module marked
    `no_servers` (pure code: parsing, cleaning, schemas, imports), which start none."""
    if request.node.get_closest_marker("no_servers") is None:
        request.getfixturevalue("clean_mongo")


@pytest.fixture
def clean_mongo(mongo_connection, settings, tmp_path):
    """Each test starts with empty collections (indexes kept)."""
    settings.DALLOSH_INGEST = settings.DALLOSH_INGEST.replace(upload_dir=tmp_path / "uploads")
    # Ingestion tests do not hand work to a broker nobody reads; the worker tests turn it on.
    settings.DALLOSH_ANALYSIS = settings.DALLOSH_ANALYSIS.replace(auto_enqueue=False)
    # Queue pages stop reading after a time budget; tests must not depend on the machine's load.
    settings.DALLOSH_QUEUE = settings.DALLOSH_QUEUE.replace(scan_budget_ms=60_000)
    # A fresh channel layer per test: a layer's receive lock belongs to the event loop that
    # last took it, and a test's sockets end with their loop (a lock left held breaks the next).
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    empty_collections()
    classifier.forget_cache()  # a version another test trained must not answer in the next
    corrections.forget_cache()
    scorecards.forget_cache()  # nor a scorecard another test stored


@pytest.fixture
def shared_data() -> Path:
    if not (SHARED_DATA / "twcs_sample.csv").exists():
        pytest.skip("../shared/data is not beside the project")
    return SHARED_DATA


@pytest.fixture
def write_csv(tmp_path):
    """Write a CSV test file from text (str) or bytes and return its path."""

    def write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        return path

    return write


@pytest.fixture
def broker(servers, monkeypatch):
    """django-q2's broker is the test Redis: what a test enqueues waits there."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "REDIS", servers["redis"])


@pytest.fixture
def start_qcluster(servers, broker):
    """Start real `manage.py qcluster` processes on the test Redis broker, MongoDB and SQL
    database, with extra environment; each is stopped at the end of the test."""
    started = []

    def start(cluster: str | None = None, **extra_env: str) -> subprocess.Popen:
        env = child_env(servers, DALLOSH_Q_WORKERS="1",
                        # The scheduled sweeper may analyse leftover tickets: it must never start a
                        # detached model server that outlives the test session.
                        DALLOSH_LOCAL_MODEL_AUTOSTART="0", **({"Q_CLUSTER_NAME": cluster} if cluster else {}),
                        **extra_env)
        worker = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        started.append(worker)
        return worker

    yield start
    # A test's clusters hold no work worth a graceful stop (whose wait was 30 s a test):
    # a short one, then SIGKILL.
    for worker in started:
        stop_group(worker, timeout=1)


@pytest.fixture
def qcluster_worker(start_qcluster):
    """A real `manage.py qcluster` process on the test Redis broker, MongoDB and SQL database."""
    return start_qcluster()


@pytest.fixture(scope="session")
def smollm2(tmp_path_factory):
    """The real llama.cpp server (xllamacpp) with SmolLM2-135M on loopback: its OpenAI API URL."""
    log = tmp_path_factory.mktemp("llm") / "smollm2.log"
    server = embedded.start_local_model(name="smollm2-135m", port=embedded.free_port(), log=log)
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def _fault_servers():
    from bench.llm_servers import FaultServer

    servers = [FaultServer(name="first", timeout_s=3), FaultServer(name="second", timeout_s=3)]
    yield servers
    for server in servers:
        server.close()


@pytest.fixture
def fault_server(_fault_servers):
    """A scripted OpenAI-compatible server on loopback, reset to always answer correctly."""
    return _fault_servers[0].play(default="ok")


@pytest.fixture
def second_fault_server(_fault_servers):
    return _fault_servers[1].play(default="ok")


@pytest.fixture
def use_tiers(settings):
    """Point the provider chain at these LLM tiers, in order: use_tiers(("openai", url), ...).
    The fast tier is off (the LLM labels every ticket) unless a test passes fast=True."""

    def configure(*tiers: tuple[str, str], batch_size: int = 1, timeout_s: float = 2, fast: bool = False,
                  **common) -> None:
        providers = {name: TierSettings(name=name, kind="ollama" if name == "ollama" else "openai",
                                        model=f"{name}-model", base_url=url, api_key="test", timeout_s=timeout_s,
                                        batch_size=batch_size, **common)
                     for name, url in tiers}
        settings.DALLOSH_ANALYSIS = settings.DALLOSH_ANALYSIS.replace(
            tiers=tuple(providers), providers=providers, local_autostart=False, breaker_failures=3,
            breaker_cooldown_s=1.0, auto_enqueue=False, fast_tier=fast)

    return configure


@pytest.fixture
def make_user(django_user_model):
    """make_user("ana", "tech") → an agent of the tech team; role="manager" or "admin" otherwise."""
    from django.contrib.auth.models import Group

    from dallosh.permissions import ADMIN_GROUP, AGENT_GROUP, MANAGER_GROUP, team_group

    def make(username: str, *teams: str, role: str = "agent"):
        user = django_user_model.objects.create_user(username=username, password="password",
                                                     is_staff=role == "admin")
        names = {"agent": [AGENT_GROUP], "manager": [MANAGER_GROUP], "admin": [ADMIN_GROUP]}[role]
        names += [team_group(team) for team in teams]
        user.groups.set([Group.objects.get_or_create(name=name)[0] for name in names])
        return user

    return make


@pytest.fixture
def ingest_client(django_user_model):
    """An API client holding the token of an account of the ingest group (what a feed, a
    mail gateway or a hotline integration uses)."""
    from django.contrib.auth.models import Group
    from rest_framework.test import APIClient

    from dallosh import tokens
    from dallosh.permissions import INGEST_GROUP

    feed = django_user_model.objects.create_user(username="feed-bot")
    feed.groups.set([Group.objects.get_or_create(name=INGEST_GROUP)[0]])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {tokens.create_token(feed)}")
    return client


@pytest.fixture
def analysed(use_tiers, fault_server):
    """analysed("my fibre is down", ...) → ticket ids, ingested then analysed and routed through
    the real pipeline; the scripted model labels by bench.llm_servers.expected_labels."""
    from analysis import services
    from ingestion.services import ingest_records
    from tickets.models import Ticket

    use_tiers(("openai", fault_server.url))
    counter = iter(range(1, 10**6))

    def analyse(*texts: str, minute: int = 0) -> list[str]:
        first = next(counter) * 1000
        records = [twcs_record(first + n, text, minute=minute + n) for n, text in enumerate(texts)]
        ingest_records(records=records, source="twcs")
        ids = [f"twcs:{first + n}" for n in range(len(texts))]
        run = services.analyse_tickets(ticket_ids=ids)
        assert sorted(run.analysed) == sorted(ids), run
        assert Ticket.objects(id__in=ids, team__ne=None).count() == len(ids)
        return ids

    return analyse


@pytest.fixture
def fast_labelled(use_tiers, fault_server):
    """fast_labelled("no signal", ..., doubts={"no signal": {"topic": 0.41}}, said={...}) → ticket
    ids, ingested then labelled and routed by the real fast-tier write (analysis.services
    .label_tickets) with scripted heads (tests/helpers.ScriptedHeads): the keyword labels of
    the scripted model, or `said`'s, sure of every field but those `doubts` names. The LLM
    tier behind it is the scripted model (analyse_tickets refines the unsure ones)."""
    from analysis import services
    from ingestion.services import ingest_records
    from tests.helpers import ScriptedHeads

    use_tiers(("openai", fault_server.url), fast=True)
    counter = iter(range(1, 10**6))

    def label(*texts: str, doubts: dict | None = None, said: dict | None = None, minute: int = 0) -> list[str]:
        first = 500_000 + next(counter) * 1000  # apart from `analysed`'s tweet ids
        ingest_records(records=[twcs_record(first + n, text, minute=minute + n) for n, text in enumerate(texts)],
                       source="twcs")
        ids = [f"twcs:{first + n}" for n in range(len(texts))]
        run = services.label_tickets(ticket_ids=ids, heads=ScriptedHeads(doubts=doubts or {}, said=said or {}))
        assert sorted(run.analysed) == sorted(ids), run
        return ids

    return label


@pytest.fixture(scope="session")
def daphne_server(servers, django_db_setup, tmp_path_factory):
    """The project's ASGI server (Daphne) in its own process, on the test databases: its URL.
    One for the session (each start cost seconds); it keeps no state of its own between
    tests (MongoDB is emptied and users made again by each test). Its log is daphne.log
    in the session's temporary folder."""
    port = embedded.free_port()
    log = (tmp_path_factory.mktemp("daphne") / "daphne.log").open("wb")
    env = child_env(servers, DJANGO_DEBUG="1", DALLOSH_QUEUE_SCAN_BUDGET_MS="60000")
    process = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                                "config.asgi:application"], cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    import urllib.request

    def answers() -> bool:
        try:
            urllib.request.urlopen(url + "/login/", timeout=2)
            return True
        except OSError:
            return False

    try:
        wait_for(answers, until=bool, timeout=60)
    except AssertionError:
        process.kill()
        pytest.fail("daphne did not start")
    yield url
    stop_group(process, timeout=3)  # open websockets hold a graceful stop for its whole timeout
    log.close()


@pytest.fixture(scope="session")
def browser():
    """Debian's headless Chromium through its chromedriver (never a downloaded browser)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    if not Path("/usr/bin/chromedriver").exists():
        pytest.fail("chromium-driver is not installed: run scripts/bootstrap.sh")
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--no-first-run",
                 "--disable-sync", "--window-size=1280,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
    yield driver
    driver.quit()
