"""The console in a real browser: log in, find a demo stream, watch its timeline live, and
lose nothing (and duplicate nothing) across a dropped WebSocket."""

from __future__ import annotations

import re
import uuid
from urllib.parse import quote

from flipbook_site.management.commands.flipbook_demo import ALICE, DOCUMENT
from tests.browser.conftest import log_in


def timeline_url(stream_id: str) -> str:
    return f"/timeline/?stream={quote(stream_id, safe='')}"


def wait_live(page) -> None:
    page.wait_for_selector("#live-status[data-state='live']")


def test_login_then_dashboard_shows_totals_chart_and_feed(page, console_server, screenshot):
    status, body = console_server.api("GET", "/api/v1/streams/?limit=200")
    assert status == 200
    page.wait_for_selector("#chart svg rect.bar", state="attached")
    heights = page.eval_on_selector_all(
        "#chart rect.bar", "bars => bars.map(b => +b.getAttribute('height'))"
    )
    assert len(heights) == 60
    assert any(h > 0 for h in heights)  # the demo was loaded within the hour
    # The totals are the store's: as many streams as the API lists.
    streams = page.text_content("#total-streams")
    assert int(re.sub(r"\D", "", streams)) == len(body["streams"])
    assert "events in the last 60 minutes" in page.text_content("#chart-summary")
    wait_live(page)
    feed_links = page.locator("#feed li a")
    assert feed_links.count() > 0
    assert feed_links.first.get_attribute("href").startswith("/timeline/?stream=")
    screenshot(page, "dashboard", full_page=True)


def test_login_page_refuses_a_wrong_password(browser, console_server):
    context = browser.new_context(base_url=console_server.url)
    try:
        page = context.new_page()
        page.goto("/streams/")
        assert "/login/" in page.url  # the console needs a login
        page.fill("#id_username", console_server.username)
        page.fill("#id_password", "not-the-password")
        page.click("button[type=submit]")
        assert page.locator("p.error[role=alert]").is_visible()
    finally:
        context.close()


def test_explorer_finds_the_demo_wallet_by_prefix(page, screenshot):
    page.goto("/streams/")
    page.wait_for_selector("#streams-body a")
    page.fill("#prefix", ALICE[:6])
    from playwright.sync_api import expect  # imported here: a missing Playwright skips

    expect(page.locator("#streams-body tr")).to_have_count(1)
    link = page.locator("#streams-body a", has_text=ALICE)
    assert link.is_visible()
    assert "prefix=" + ALICE[:6] in page.url  # the search is in the URL
    screenshot(page, "explorer")
    link.click()
    page.wait_for_url(re.compile(r"/timeline/\?stream="))
    page.wait_for_selector("li.event")
    assert page.text_content("h1") == ALICE


def test_timeline_shows_an_appended_event_live(page, console_server, screenshot):
    # The demo document, found by prefix, not the wallet: other tests (the replay viewer's)
    # read the wallet's head on this shared server.
    page.goto("/streams/")
    page.fill("#prefix", "/unique/")
    page.locator("#streams-body a", has_text=DOCUMENT).click()
    page.wait_for_url(re.compile(r"/timeline/\?stream=%2Funique%2F"))
    page.wait_for_selector("li.event")
    wait_live(page)
    page.evaluate("window.notReloaded = true")
    before = page.locator("li.event").count()
    event_id = str(uuid.uuid4())
    console_server.append(
        DOCUMENT,
        [{"id": event_id, "name": "Edited", "payload": {"words": 7}, "metadata": {"by": "t"}}],
    )
    item = page.locator(f"li.event[data-id='{event_id}']")
    item.wait_for(timeout=2000)  # within 2 seconds, without a reload
    assert page.evaluate("window.notReloaded") is True
    assert "arrived" in item.get_attribute("class")
    assert page.locator("li.event").first.get_attribute("data-id") == event_id  # newest first
    assert page.locator("li.event").count() == before + 1
    # The payload viewer (expanded: a small payload) and the "state here" link.
    payload = item.locator(".jv").first
    assert payload.locator("details").first.get_attribute("open") is not None
    assert '"words":' in payload.inner_text() and "7" in payload.inner_text()
    version = item.get_attribute("data-version")
    assert item.locator("a.state-link").get_attribute("href") == (
        f"/replay/?stream={quote(DOCUMENT, safe='')}&version={version}"
    )
    screenshot(page, "timeline")


def test_timeline_catches_up_after_the_socket_drops(page, console_server):
    stream_id = f"browser/drop-{uuid.uuid4().hex[:8]}"
    console_server.append(stream_id, [{"name": "Opened", "payload": {"n": 0}}])
    page.goto(timeline_url(stream_id))
    page.wait_for_selector("li.event")
    wait_live(page)
    # Close the socket for real and hold the reconnect until three events are stored.
    assert page.evaluate("window.flipbookLive.drop({hold: true})") == 1
    page.wait_for_selector("#live-status[data-state='offline']")
    ids = [str(uuid.uuid4()) for _ in range(3)]
    for n, event_id in enumerate(ids, start=1):
        console_server.append(stream_id, [{"id": event_id, "name": "Moved", "payload": {"n": n}}])
    assert page.locator("li.event").count() == 1  # nothing came while the socket was down
    page.evaluate("window.flipbookLive.restore()")
    wait_live(page)
    for event_id in ids:
        page.locator(f"li.event[data-id='{event_id}']").wait_for()
    for event_id in ids:
        assert page.locator(f"li.event[data-id='{event_id}']").count() == 1
    versions = page.eval_on_selector_all("li.event", "items => items.map(i => i.dataset.version)")
    assert versions == ["4", "3", "2", "1"]
    # A later live event after the reconnect arrives once too.
    last = str(uuid.uuid4())
    console_server.append(stream_id, [{"id": last, "name": "Moved", "payload": {"n": 4}}])
    page.locator(f"li.event[data-id='{last}']").wait_for()
    assert page.locator("li.event").count() == 5


def test_timeline_filters_by_name_and_jumps_to_a_version(page):
    page.goto(timeline_url(ALICE) + "&name=Deposited")
    page.wait_for_selector("li.event")
    names = page.eval_on_selector_all("li.event .event-name", "els => els.map(e => e.textContent)")
    assert names and set(names) == {"Deposited"}
    page.goto(timeline_url(ALICE) + "&version=2")
    page.wait_for_selector("li.event")
    versions = page.eval_on_selector_all("li.event", "items => items.map(i => i.dataset.version)")
    assert versions == ["2", "3", "4", "5", "6", "7"]  # starts at version 2 and goes up
    assert "Live updates are off" in page.text_content("#timeline-status")


def test_timeline_of_a_missing_stream_says_so(page):
    page.goto(timeline_url("no/such/stream"))
    page.wait_for_selector("#events li.empty")
    assert "has events" in page.text_content("#events")


def test_pages_fit_a_phone_in_the_dark_theme(browser, console_server, screenshot):
    page = log_in(
        browser,
        console_server,
        viewport={"width": 390, "height": 844},
        color_scheme="dark",
        is_mobile=True,
    )
    try:
        for url, ready in [
            ("/", "#chart svg"),
            ("/streams/", "#streams-body a"),
            (timeline_url(ALICE), "li.event"),
        ]:
            page.goto(url)
            page.wait_for_selector(ready)
            # Nothing wider than the screen: tables scroll inside their own box.
            assert page.evaluate("document.documentElement.scrollWidth <= innerWidth + 1"), url
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(22, 23, 26)"  # the dark theme's --bg
        screenshot(page, "timeline-phone-dark")
    finally:
        page.context.close()


def test_timeline_of_a_version_neutral_stream_goes_live(page, console_server):
    stream_id = f"browser/log-{uuid.uuid4().hex[:8]}"
    status, body = console_server.api(
        "POST",
        f"/api/v1/streams/{quote(stream_id, safe='')}/events",
        {"kind": "neutral", "events": [{"name": "Started", "payload": {}}]},
    )
    assert status in (200, 201), body
    page.goto(timeline_url(stream_id))
    page.wait_for_selector("li.event")
    wait_live(page)
    assert page.locator("a.state-link").count() == 0  # no versions to replay by
    event_id = str(uuid.uuid4())
    console_server.append(stream_id, [{"id": event_id, "name": "Logged", "payload": {"n": 1}}])
    page.locator(f"li.event[data-id='{event_id}']").wait_for(timeout=2000)
    assert page.locator("li.event").count() == 2


def test_explorer_and_timeline_work_from_the_keyboard(page):
    page.goto("/streams/?sort=updated")
    page.wait_for_selector("#streams-body a")
    page.focus("#prefix")
    page.keyboard.type("ops/")
    page.keyboard.press("Enter")
    link = page.locator("#streams-body a", has_text="ops/audit-log")
    link.wait_for()
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("li.event summary")
    # The payload viewer opens expanded; Enter on its summary folds it and opens it again.
    viewer = page.locator("li.event details").first
    assert viewer.get_attribute("open") is not None
    page.focus("li.event summary")
    page.keyboard.press("Enter")
    assert viewer.get_attribute("open") is None
    page.keyboard.press("Enter")
    assert viewer.get_attribute("open") is not None
