"""The console's views in Chromium: event search and export over 10k events, the timeline's
JSON viewer and "start at version", the replay viewer's version box, out-of-range notice and
bitemporal toggle, snapshot drift as a field diff on the demo data, one time format, the
offline banner, the bare login page; every page at 390 by 844 with nothing wider than the
viewport, and axe (WCAG 2.1 A/AA) with no violation on every page, the admin and API docs
included."""

# Predicates are arrow functions: a bare expression would be eval'd in the page, which the
# console's Content Security Policy (script-src 'self') forbids.

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from flipbook_site.management.commands.flipbook_demo import ALICE, DOCUMENT, LOG
from tests.browser.conftest import (
    ConsoleServer,
    axe_violations,
    log_in,
    manage,
    require_browser,
    start_console_server,
    wide_elements,
)

BULK_EVENTS = 10_000
BULK_STREAMS = 10
NAMES = ["Ordered", "Shipped", "Returned", "Invoiced"]

# 10k events through the store service's multi-event commits: one append of 1,000 events per
# stream (the most one commit may carry), straight into the server's database.
_SEED = f"""
from datetime import UTC, datetime, timedelta
from streams import services
start = datetime(2025, 1, 1, tzinfo=UTC)
names = {NAMES!r}
per = {BULK_EVENTS // BULK_STREAMS}
for s in range({BULK_STREAMS}):
    services.append_to_stream(
        f"bulk/stream-{{s:02d}}",
        [
            {{
                "name": names[i % 4],
                "payload": {{"i": i, "note": "n" * (i % 7)}},
                "metadata": {{"tenant": "acme" if i % 5 == 0 else "globex"}},
                "timestamp": (start + timedelta(minutes=i)).isoformat(),
            }}
            for i in range(s * per, (s + 1) * per)
        ],
        category="bulk",
    )
# Sixty small streams, so the explorer has more than one page.
services.commit(
    [{{"stream_id": f"page/{{n:02d}}", "events": [{{"name": "Opened", "payload": {{}}}}]}}
     for n in range(60)]
)
print("SEEDED")
"""


@pytest.fixture(scope="module")
def bulk_server(tmp_path_factory) -> Iterator[ConsoleServer]:
    """A console of its own with the demo and 10,000 more events (category "bulk")."""
    require_browser()
    server = start_console_server(tmp_path_factory.mktemp("bulk"))
    try:
        assert "SEEDED" in manage(server.env, "shell", "-c", _SEED)
        yield server
    finally:
        server.stop()


def bulk_page(browser, server, **options: Any):
    return log_in(browser, server, viewport={"width": 1280, "height": 900}, **options)


# The position of the first row of the feed browser's table, as a number.
FIRST_ROW = "Number(document.querySelector('#feed-body tr[data-position]')?.dataset.position)"


def matching(i: int) -> bool:
    """Bulk event ``i`` is a Shipped of tenant acme."""
    return NAMES[i % 4] == "Shipped" and i % 5 == 0


def test_search_pages_both_ways_and_exports_over_10k_events(
    browser, bulk_server, tmp_path, screenshot
):
    page = bulk_page(browser, bulk_server, accept_downloads=True)
    page.goto("/feed/")
    page.select_option("select[name=category]", "bulk")
    page.fill("input[name=name]", "Shipped")
    page.fill("input[name=metadata]", "tenant=acme")
    page.click("#feed-form button[type=submit]")
    page.wait_for_selector("#feed-body tr[data-position]")
    expected = sum(1 for i in range(BULK_EVENTS) if matching(i))  # 500
    assert page.locator("#feed-body tr[data-position]").count() == 50
    assert "category=bulk" in page.url and "metadata=tenant%3Dacme" in page.url
    first_positions = page.locator("#feed-body tr[data-position]").evaluate_all(
        "rows => rows.map(r => Number(r.dataset.position))"
    )
    assert first_positions == sorted(first_positions)

    # Forward two pages, back one: the same rows as before.
    page.click("#feed-next")
    page.wait_for_function(f"(p) => {FIRST_ROW} > p", arg=first_positions[-1])
    second = page.locator("#feed-body tr[data-position]").first.get_attribute("data-position")
    page.click("#feed-next")
    page.wait_for_function(f"(p) => {FIRST_ROW} > p", arg=int(second))
    page.click("#feed-prev")
    page.wait_for_function(f"(p) => {FIRST_ROW} === p", arg=int(second))
    page.click("#feed-first")
    page.wait_for_function(f"(p) => {FIRST_ROW} === p", arg=first_positions[0])

    # Open an event: its facts and an expanded JSON viewer with a copy button.
    row = page.locator("#feed-body tr[data-position]").nth(2)
    row.locator("button.linkish").click()
    detail = page.locator("#feed-event")
    detail.wait_for()
    assert "Shipped" in detail.locator("h2").inner_text()
    assert detail.locator(".jv").count() == 2
    assert '"tenant":' in detail.locator(".jv").nth(1).inner_text()
    assert detail.locator(".jv-copy").count() == 2
    screenshot(page, "event-search")
    # The opened event is in the URL: a link opens it again.
    opened = row.get_attribute("data-position")
    assert f"open={opened}" in page.url
    page.reload()
    page.wait_for_function(
        "(p) => document.querySelector('#feed-event-title').textContent.endsWith(p)",
        arg=f"position {opened}",
    )

    # Exports follow the filter: every match, not only the page shown.
    with page.expect_download() as info:
        page.click("#export-jsonl")
    path = tmp_path / "feed.jsonl"
    info.value.save_as(path)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(lines) == expected
    assert all(e["name"] == "Shipped" and e["metadata"]["tenant"] == "acme" for e in lines)
    assert [e["position"] for e in lines[:50]] == first_positions

    # The whole category as CSV: 10,000 rows, streamed.
    page.goto("/feed/?category=bulk")
    page.wait_for_selector("#feed-body tr[data-position]")
    with page.expect_download() as info:
        page.click("#export-csv")
    path = tmp_path / "feed.csv"
    info.value.save_as(path)
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert len(rows) == BULK_EVENTS
    assert {r["stream_id"] for r in rows} == {f"bulk/stream-{s:02d}" for s in range(BULK_STREAMS)}
    assert json.loads(rows[7]["payload"])["i"] == 7
    page.context.close()


def test_jump_to_a_position_and_a_filter_that_matches_nothing(browser, bulk_server):
    page = bulk_page(browser, bulk_server)
    page.goto("/feed/?category=bulk")
    page.wait_for_selector("#feed-body tr[data-position]")
    start = int(page.locator("#feed-body tr[data-position]").first.get_attribute("data-position"))
    page.fill("input[name=position]", str(start + 5000))
    page.click("#feed-form button[type=submit]")
    page.wait_for_function(f"(p) => {FIRST_ROW} === p", arg=start + 5000)
    page.goto("/feed/?id=ffffffff-0000")
    page.wait_for_selector("#feed-body td.empty")
    page.goto("/feed/?since=not-a-date")
    page.wait_for_selector("#feed-body td.error")
    assert "since" in page.locator("#feed-body td.error").inner_text()
    page.context.close()


VERSIONS = "els => els.map(e => Number(e.dataset.version))"
STATUS = "document.querySelector('#rp-status').textContent"
EXPLORER_STATUS = "document.querySelector('#explorer-status').textContent"


# -- timeline ---------------------------------------------------------------------------------


def test_timeline_json_viewer_columns_and_start_at_version(page, screenshot):
    page.goto(f"/timeline/?stream={quote(ALICE, safe='')}")
    page.wait_for_selector("li.event")
    first = page.locator("li.event").first
    # Id and position are columns of their own, not metadata keys.
    assert first.locator(".col-pos").inner_text().startswith("#")
    assert len(first.locator(".col-id").inner_text()) == 8
    assert "(id)" not in first.inner_text() and "(position)" not in first.inner_text()
    # Payload and metadata open expanded, coloured, with a copy button.
    viewer = first.locator(".jv").first
    assert viewer.locator("details").first.get_attribute("open") is not None
    assert viewer.locator(".jv-number, .jv-string").count() >= 1
    assert first.locator(".jv-copy").count() == 2
    # One timestamp format: ISO 8601 UTC, the local time in the tooltip.
    stamp = first.locator("time[data-ts]").first
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamp.inner_text())
    assert "local" in stamp.get_attribute("title")
    screenshot(page, "timeline-json")

    # "Start at version" starts there and goes up; the filter stays in the URL.
    page.fill("#from-version", "3")
    page.click("#timeline-form button[type=submit]")
    page.wait_for_url(re.compile(r"version=3"))
    page.wait_for_selector("li.event")
    versions = page.locator("li.event").evaluate_all(
        "els => els.map(e => Number(e.dataset.version))"
    )
    assert versions[0] == 3 and versions == sorted(versions)
    page.reload()
    page.wait_for_selector("li.event")
    assert page.locator("#from-version").input_value() == "3"


def test_time_setting_is_remembered_in_this_browser(page):
    page.goto(f"/timeline/?stream={quote(ALICE, safe='')}")
    page.wait_for_selector("li.event time[data-ts]")
    page.select_option("#time-mode", "relative")
    stamp = page.locator("li.event time[data-ts]").first
    assert re.search(r"ago|in \d|yesterday|tomorrow|year|month|day", stamp.inner_text())
    page.goto("/streams/")
    page.wait_for_selector("#streams-body time[data-ts]")
    assert page.locator("#time-mode").input_value() == "relative"
    assert page.evaluate("() => localStorage.getItem('flipbook-time')") == "relative"
    page.select_option("#time-mode", "utc")


def test_new_events_wait_behind_a_badge_while_reading(page, console_server):
    stream = "browser/badge-1"
    console_server.append(stream, [{"name": "Line", "payload": {"n": i}} for i in range(40)])
    page.goto(f"/timeline/?stream={quote(stream, safe='')}")
    page.wait_for_selector("#live-status[data-state='live']")
    page.mouse.wheel(0, 1500)
    page.wait_for_function("() => window.scrollY > 120")
    top = page.locator("li.event").first.get_attribute("data-id")
    console_server.append(
        stream, [{"name": "Late", "payload": {}}, {"name": "Later", "payload": {}}]
    )
    page.wait_for_selector("#new-events:not([hidden])")
    assert page.locator("#new-events").inner_text().startswith("2 new events")
    assert page.locator("li.event").first.get_attribute("data-id") == top  # nothing jumped
    page.click("#new-events")
    assert page.locator("li.event").first.locator(".event-name").inner_text() == "Later"


def test_feed_browser_new_events_wait_behind_a_badge(page, console_server, screenshot):
    category = f"badge{uuid.uuid4().hex[:8]}"

    def append(names: list[str]) -> None:
        status, body = console_server.api(
            "POST",
            f"/api/v1/streams/{quote(category + '/1', safe='')}/events",
            {"category": category, "events": [{"name": n, "payload": {}} for n in names]},
        )
        assert status == 201, body

    append(["Opened", "Opened"])
    page.goto(f"/feed/?category={category}&name=Opened")
    page.wait_for_selector("#feed-body tr[data-position]")
    page.wait_for_selector("#live-status[data-state='live']")
    rows = page.locator("#feed-body tr[data-position]")
    assert rows.count() == 2
    append(["Opened", "Closed", "Opened"])  # Closed does not match the name filter
    page.wait_for_selector("#feed-new:not([hidden])")
    page.wait_for_function(
        "() => document.querySelector('#feed-new').textContent.startsWith('2 new events')"
    )
    assert rows.count() == 2  # nothing moved under the reader
    screenshot(page, "feed-new-events", full_page=False)
    page.click("#feed-new")
    assert rows.count() == 4
    assert page.locator("#feed-new").is_hidden()
    positions = rows.evaluate_all("rows => rows.map(r => Number(r.dataset.position))")
    assert positions == sorted(positions)


@pytest.mark.parametrize("url", ["/admin/", "/api/v1/docs/", "/api/v1/redoc/"])
def test_the_health_strip_is_on_the_admin_and_the_api_docs(page, url, screenshot):
    page.goto(url)
    strip = page.locator("#health-strip")
    strip.wait_for()
    page.wait_for_selector("#health-strip:not([data-state='unknown'])")
    assert strip.get_attribute("data-state") in ("ok", "warn", "bad")
    assert page.locator("#health-text").inner_text() != "Checking health…"
    # Its own colours: the same look under the admin's and the docs' stylesheets.
    assert strip.evaluate("e => getComputedStyle(e).borderBottomStyle") == "solid"
    if url == "/admin/":
        screenshot(page, "admin-health-strip", full_page=False)


# -- replay -----------------------------------------------------------------------------------


def test_replay_version_box_and_out_of_range_notice(page, screenshot):
    page.goto(f"/replay/?stream={quote(ALICE, safe='')}&version=99")
    notice = page.locator("#rp-range")
    notice.wait_for()
    assert "Version 99 is out of range" in notice.inner_text()
    assert "versions 1 to 7" in notice.inner_text()
    page.wait_for_function("() => document.querySelector('#rp-position b').textContent === '7'")
    page.fill("#rp-goto-version", "2")
    page.click("#rp-goto button[type=submit]")
    page.wait_for_function("() => document.querySelector('#rp-position b').textContent === '2'")
    assert notice.is_hidden()
    page.fill("#rp-goto-version", "-4")
    page.click("#rp-goto button[type=submit]")
    page.wait_for_function("() => !document.querySelector('#rp-range').hidden")
    assert "Version -4 is out of range" in notice.inner_text()
    # Labelled snapshot markers (the wallet keeps one every 3 events).
    assert page.locator(".replay-tick-label").count() >= 1
    assert re.match(r"v\d+", page.locator(".replay-tick-label").first.inner_text())
    screenshot(page, "replay-range")


def test_bitemporal_toggle_on_the_demo_document(page, screenshot):
    # The demo's document got a late correction: v5 happened between v2 and v3 but reached
    # the store last.
    page.goto(f"/replay/?stream={quote(DOCUMENT, safe='')}&version=1")
    page.wait_for_selector("#rp-time:not([disabled])")
    move = "el => { el.value = '5'; el.dispatchEvent(new Event('input')); }"
    page.eval_on_selector("#rp-time", move)
    page.wait_for_function(f"() => /As of .* version 2/.test({STATUS})")
    assert page.locator("#rp-position b").inner_text() == "2"
    # By its definition, the state as of that time holds the late correction already (it is
    # dated before v3), so the page shows it beside version 2's.
    asof = page.locator("#rp-asof")
    asof.wait_for()
    assert "Numbers for Q1, audited" in asof.inner_text()
    assert "Numbers for Q1, audited" not in page.locator("#rp-state").inner_text()
    screenshot(page, "replay-bitemporal")
    # As known at v5's store time, the store held every version up to 5.
    page.check("#rp-basis input[value=recorded]")
    page.eval_on_selector("#rp-time", move)
    page.wait_for_function(f"() => /As known at .* versions 1 to 5/.test({STATUS})")
    assert page.locator("#rp-position b").inner_text() == "5"
    assert "basis=recorded" in page.url
    assert page.locator("#rp-time-name").inner_text().startswith("Known at")
    assert asof.is_hidden()  # as known at v5's store time: exactly versions 1 to 5

    # The timeline's window, as known at a moment before the correction was stored.
    page.goto(f"/timeline/?stream={quote(DOCUMENT, safe='')}&version=1")
    page.wait_for_selector("li.event[data-version='5']")
    v4_recorded = page.locator("li.event[data-version='4'] time[data-ts]").last.get_attribute(
        "datetime"
    )
    page.goto(
        f"/timeline/?stream={quote(DOCUMENT, safe='')}&time=recorded&until={quote(v4_recorded)}"
    )
    page.wait_for_selector("li.event")
    versions = page.locator("li.event").evaluate_all(
        "els => els.map(e => Number(e.dataset.version))"
    )
    assert 5 not in versions and 4 in versions
    assert page.locator("#time-field").input_value() == "recorded"


def test_drift_diff_on_the_demo_document_and_rebuild(page, console_server, screenshot):
    path = f"/api/v1/streams/{quote(DOCUMENT, safe='')}"
    status, state = console_server.api("GET", path + "/state?version=2")
    assert status == 200, state
    wrong = {**state["state"], "title": "Tampered", "stale": True}
    status, body = console_server.api(
        "PUT",
        path + "/snapshots",
        {"version": 2, "payload": wrong, "revision": state["revision"], "label": "bad"},
    )
    assert status == 201, body
    page.goto(f"/snapshots/?stream={quote(DOCUMENT, safe='')}")
    page.wait_for_selector("#snap-drift-status .badge.warn")
    diff = page.locator("#snap-findings .drift-diff")
    diff.wait_for()
    text = diff.inner_text()
    assert '~ title: snapshot "Tampered" → events "Quarterly report"' in text
    assert "\u2212 stale: snapshot has true, the events do not" in text  # a minus sign
    screenshot(page, "snapshot-drift")
    page.locator("#snap-rebuild").click()
    page.wait_for_selector("#snap-drift-status .badge.ok")
    assert "rebuilt 1" in page.locator("#snap-drift-status").inner_text()


# -- everywhere -------------------------------------------------------------------------------


def test_snapshots_without_a_stream_and_dead_end_links(page):
    page.goto("/snapshots/")
    assert "Which stream?" in page.locator("main").inner_text()
    assert "name the stream" not in page.locator("main").inner_text()
    # A version-neutral stream's timeline offers no replay or snapshots link.
    page.goto(f"/timeline/?stream={quote(LOG, safe='')}")
    page.wait_for_selector("li.event")
    assert page.locator("#replay-link").is_hidden()
    assert page.locator("#snapshots-link").is_hidden()
    # A missing stream: no links to pages that would only say so again.
    page.goto("/timeline/?stream=no/such/stream")
    page.wait_for_selector("#events li.empty")
    assert page.locator("#replay-link").is_hidden()


def test_explorer_pages_both_ways_with_totals(browser, bulk_server):
    page = bulk_page(browser, bulk_server)
    page.goto("/streams/")
    page.wait_for_selector("#streams-body a")
    status = page.locator("#explorer-status")
    page.wait_for_function(f"() => /of \\d+/.test({EXPLORER_STATUS})")
    assert re.search(r"streams 1–\d+ of \d+", status.inner_text())
    page.fill("#prefix", "bulk/")
    page.wait_for_function(f"() => /streams 1–10 of 10/.test({EXPLORER_STATUS})")
    assert page.locator("#prev-page").is_disabled()
    # Sixty "page/" streams: a filtered list says "more than 50", then pages both ways.
    page.fill("#prefix", "page/")
    page.wait_for_function(f"() => /streams 1–50 of more than 50/.test({EXPLORER_STATUS})")
    first = page.locator("#streams-body a").first.inner_text()
    assert first == "page/00"
    page.click("#next-page")
    page.wait_for_function(f"() => /Page 2: streams 51–60 of 60/.test({EXPLORER_STATUS})")
    assert page.locator("#streams-body a").first.inner_text() == "page/50"
    page.click("#prev-page")
    page.wait_for_function(f"() => /Page 1: streams 1–50/.test({EXPLORER_STATUS})")
    assert page.locator("#streams-body a").first.inner_text() == first
    page.context.close()


def test_offline_banner_and_retry(page):
    page.goto(f"/timeline/?stream={quote(ALICE, safe='')}")
    page.wait_for_selector("#live-status[data-state='live']")
    page.evaluate("() => window.flipbookLive.drop({hold: true})")
    banner = page.locator("#offline-banner")
    banner.wait_for()
    assert "Offline" in banner.inner_text()
    page.click("#offline-retry")
    page.wait_for_selector("#live-status[data-state='live']")
    page.wait_for_selector("#offline-banner", state="hidden")


def test_login_page_is_bare(browser, console_server):
    context = browser.new_context(base_url=console_server.url)
    page = context.new_page()
    page.goto("/login/")
    assert page.locator("nav.mainnav").count() == 0
    assert page.locator("link[rel=icon]").count() == 1
    assert page.request.get(console_server.url + "/static/favicon.svg").ok
    context.close()


PAGES = [
    "/",
    "/streams/",
    "/feed/",
    f"/timeline/?stream={quote(ALICE, safe='')}",
    f"/timeline/?stream={quote(LOG, safe='')}",
    "/timeline/",
    f"/replay/?stream={quote(ALICE, safe='')}",
    "/replay/",
    f"/replay/?stream={quote(LOG, safe='')}",
    f"/snapshots/?stream={quote(ALICE, safe='')}",
    "/snapshots/",
    "/subscriptions/",
    "/audit/",
]
OTHER_PAGES = ["/admin/", "/admin/streams/stream/", "/api/v1/docs/", "/api/v1/redoc/"]


def settle(page, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    page.wait_for_function("() => !document.querySelector('.loading')")


@pytest.fixture(scope="module")
def phone(browser, console_server):
    page = log_in(
        browser,
        console_server,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=1,
    )
    yield page
    page.context.close()


@pytest.mark.parametrize("url", [*PAGES, *OTHER_PAGES])
def test_phone_layout_nothing_wider_than_the_viewport(phone, url):
    if url.startswith("/api/v1/"):
        phone.goto(url)
        phone.wait_for_selector(
            ".swagger-ui .information-container" if "docs" in url else ".api-content"
        )
        phone.wait_for_selector("#health-strip:not([data-state='unknown'])")
    else:
        settle(phone, url)
    found = wide_elements(phone)
    assert found["width"] == 390
    assert found["wide"] == [], found
    assert found["scrollWidth"] <= 390, found


def test_phone_login_and_menu(browser, console_server, screenshot):
    context = browser.new_context(
        base_url=console_server.url, viewport={"width": 390, "height": 844}
    )
    page = context.new_page()
    page.goto("/login/")
    assert wide_elements(page)["wide"] == []
    context.close()
    page = log_in(browser, console_server, viewport={"width": 390, "height": 844})
    page.goto("/feed/")
    assert page.locator("#mainnav").is_hidden()
    page.click("#menu-toggle")
    assert page.locator("#mainnav").is_visible()
    assert page.locator("#menu-toggle").get_attribute("aria-expanded") == "true"
    page.click("#menu-toggle")
    page.wait_for_selector("#feed-body tr[data-position]")
    screenshot(page, "phone-search", full_page=False)
    page.context.close()


@pytest.fixture(scope="module")
def axe_page(browser, console_server):
    page = log_in(browser, console_server, viewport={"width": 1280, "height": 900}, bypass_csp=True)
    yield page
    page.context.close()


@pytest.mark.parametrize("url", [*PAGES, *OTHER_PAGES])
def test_axe_finds_no_violation(axe_page, url):
    axe_page.goto(url)
    axe_page.wait_for_load_state("networkidle")
    if url.startswith("/api/v1/docs"):
        axe_page.wait_for_selector(".swagger-ui .information-container")
    elif url.startswith("/api/v1/redoc"):
        axe_page.wait_for_selector(
            "redoc [role=search], .api-content, #redoc-container .api-content"
        )
    else:
        axe_page.wait_for_function("() => !document.querySelector('.loading')")
    violations = axe_violations(axe_page)
    assert violations == [], json.dumps(violations, indent=1)


def test_axe_on_the_login_page_and_dark_theme(browser, console_server):
    context = browser.new_context(base_url=console_server.url, bypass_csp=True, color_scheme="dark")
    page = context.new_page()
    page.goto("/login/")
    assert axe_violations(page) == []
    context.close()
    page = log_in(browser, console_server, bypass_csp=True, color_scheme="dark")
    for url in ["/feed/", f"/timeline/?stream={quote(ALICE, safe='')}", "/admin/"]:
        settle(page, url)
        assert axe_violations(page) == [], url
    page.context.close()
