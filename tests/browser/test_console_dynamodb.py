"""The live timeline on the DynamoDB backend: `serve` with FLIPBOOK_EVENT_STORE=dynamodb
against DynamoDB Local, the same browser checks as on the embedded default."""

from __future__ import annotations

import uuid

import pytest

from flipbook_site.management.commands.flipbook_demo import ALICE
from tests.browser.conftest import log_in, require_browser, start_console_server
from tests.browser.test_console_live import timeline_url, wait_live
from tests.dynamodb_fixtures import dynamodb_local  # noqa: F401 (a fixture)


@pytest.fixture(scope="module")
def dynamodb_console_server(tmp_path_factory, dynamodb_local):  # noqa: F811
    require_browser()
    server = start_console_server(
        tmp_path_factory.mktemp("console-dynamodb"),
        {
            "FLIPBOOK_EVENT_STORE": "dynamodb",
            "FLIPBOOK_SINGLE_SERVER": "true",  # one server: a SQLite metadata database is fine
            "FLIPBOOK_DYNAMODB_ENDPOINT": dynamodb_local,
            "FLIPBOOK_DYNAMODB_TABLE_PREFIX": f"console{uuid.uuid4().hex[:8]}_",
        },
        setup=(("flipbook_dynamodb", "create-tables"),),
    )
    yield server
    server.stop()


@pytest.fixture
def dynamodb_page(browser, dynamodb_console_server):
    page = log_in(browser, dynamodb_console_server, viewport={"width": 1280, "height": 860})
    yield page
    page.context.close()


def test_timeline_live_and_reconnect_on_dynamodb(dynamodb_page, dynamodb_console_server):
    page, server = dynamodb_page, dynamodb_console_server
    page.goto(timeline_url(ALICE))
    page.wait_for_selector("li.event")
    wait_live(page)
    before = page.locator("li.event").count()
    event_id = str(uuid.uuid4())
    server.append(ALICE, [{"id": event_id, "name": "Deposited", "payload": {"amount": 3}}])
    page.locator(f"li.event[data-id='{event_id}']").wait_for(timeout=2000)
    assert page.locator("li.event").first.get_attribute("data-id") == event_id
    # Drop the socket, append three events meanwhile, each shows once after the reconnect.
    page.evaluate("window.flipbookLive.drop({hold: true})")
    page.wait_for_selector("#live-status[data-state='offline']")
    ids = [str(uuid.uuid4()) for _ in range(3)]
    for n, missed in enumerate(ids):
        server.append(ALICE, [{"id": missed, "name": "Deposited", "payload": {"amount": n}}])
    page.evaluate("window.flipbookLive.restore()")
    wait_live(page)
    for missed in ids:
        page.locator(f"li.event[data-id='{missed}']").wait_for()
    for missed in ids:
        assert page.locator(f"li.event[data-id='{missed}']").count() == 1
    assert page.locator("li.event").count() == before + 4


def test_dashboard_and_explorer_on_dynamodb(dynamodb_page):
    page = dynamodb_page
    page.wait_for_selector("#chart svg")
    assert "every stream head" in page.text_content("main")  # the page says it scans
    assert int(page.text_content("#total-streams").replace(",", "")) > 0
    page.goto("/streams/?sort=updated")
    page.wait_for_selector("#streams-body a")
    assert "most recently updated first" in page.text_content("#explorer-status")
