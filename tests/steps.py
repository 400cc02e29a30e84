"""Steps the tests share: waiting for an outcome, logging in (browser and websocket),
uploading a file in slices, reading a queue, emptying the stores, starting a child process
on them. Factories for records are in tests/helpers.py."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable

from django.conf import settings
from django.test import Client
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By

from dallosh import mongo
from tickets import queue_pages
from tickets.queue_pages import QueueFilters


def child_env(servers: dict[str, str], **extra: str) -> dict[str, str]:
    """The environment of a process the test starts (a worker, a server, a command) on the
    session's MongoDB, Redis and SQL database, with `extra` on top."""
    return {**os.environ, "MONGODB_URI": servers["mongodb"], "REDIS_URL": servers["redis"],
            "DATABASE_URL": f"sqlite:///{settings.DATABASES['default']['NAME']}", **extra}


def empty_collections() -> None:
    """Every collection emptied, indexes kept (between tests, or a property test's examples)."""
    for document in mongo.document_classes():
        document._get_collection().delete_many({})
    for name in ("classifier_blobs.files", "classifier_blobs.chunks"):
        mongo.database()[name].delete_many({})


def all_at_once(target: Callable[..., object], arguments: Iterable[object], *, timeout: float = 60) -> None:
    """Call `target(argument)` for each argument in threads started together (a race), and
    wait for every one; one still running after `timeout` fails the test."""
    threads = [threading.Thread(target=target, args=(argument,)) for argument in arguments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), f"a racer still runs after {timeout} s"


def wait_for(read, *, until, timeout: float, every: float = 0.3):
    """Poll `read()` until `until(value)` holds, and return that value; past `timeout` the
    test fails, saying what was last read (a wait that times out never passes quietly)."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if until(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout} s in vain; the last value read was {value!r}")
        time.sleep(every)


def log_in(browser, base, username):
    browser.delete_all_cookies()
    browser.get(f"{base}/login/")
    browser.find_element(By.NAME, "username").send_keys(username)
    browser.find_element(By.NAME, "password").send_keys("password")
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(lambda: browser.current_url, until=lambda url: "/login/" not in url, timeout=20)


def text_of(browser, element_id):
    """An element's text; None while live updates are replacing it."""
    try:
        return browser.find_element(By.ID, element_id).text
    except (StaleElementReferenceException, NoSuchElementException):
        return None


def live(browser):
    return wait_for(lambda: browser.find_element(By.ID, "live-state").get_attribute("data-state"),
                    until=lambda state: state == "live", timeout=20) == "live"


def logged_in(user, origin=b"http://testserver"):
    """The headers a logged-in browser page sends when it opens a websocket."""
    client = Client()
    client.force_login(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    return [(b"cookie", cookie), (b"origin", origin), (b"host", b"testserver")]


def upload(client, content: bytes, slice_size: int = 256 * 1024) -> str:
    started = client.post("/ingest/uploads/", {"filename": "free.csv", "size": len(content)},
                          content_type="application/json").json()
    offset = 0
    while offset < len(content):
        answer = client.post(f"/ingest/uploads/{started['upload']}/chunk", content[offset:offset + slice_size],
                             content_type="application/octet-stream", HTTP_X_UPLOAD_OFFSET=str(offset))
        assert answer.status_code == 200, answer.content
        offset = answer.json()["received"]
    return started["upload"]


def queue_ids(team, username="nobody", **filters):
    page = queue_pages.queue_page(team=team, filters=QueueFilters(**filters), username=username)
    return [row["_id"] for row in page.rows]


def agent_client(user) -> Client:
    """A page client logged in as this person."""
    client = Client()
    client.force_login(user)
    return client


def draft_status(client: Client, ticket_id: str) -> dict | None:
    """The person's latest reply draft for the ticket, as the ticket page polls it."""
    response = client.get(f"/tickets/{ticket_id}/draft-reply/latest/")
    assert response.status_code == 200, response.content[:300]
    return response.json()["draft"]
