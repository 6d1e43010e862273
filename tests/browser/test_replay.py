"""The replay viewer in Chromium: the demo wallet stepped to version 3 with the keyboard on the
slider shows the balance the wallet reducer makes of the demo's first three events, with the
changed key highlighted; play steps forward and pause stops; a screenshot for the README."""

# Predicates are arrow functions: a bare expression would be eval'd in the page, which the
# console's Content Security Policy (script-src 'self') forbids, as it should.

from __future__ import annotations

import re
from datetime import datetime
from types import SimpleNamespace
from urllib.parse import quote

from flipbook_site.management.commands.flipbook_demo import ALICE
from snapshots.demo_reducers import wallet


def expected_state(console_server, version: int) -> dict:
    """Fold the demo wallet's stored events 1..version with the wallet reducer (read through
    the REST API of the server under test): the value the page must show."""
    status, body = console_server.api(
        "GET",
        f"/api/v1/streams/{quote(ALICE, safe='')}/events?from_version=1&to_version={version}",
    )
    assert status == 200, body
    assert [e["version"] for e in body["events"]] == list(range(1, version + 1))
    state: dict = {}
    for event in body["events"]:
        state = wallet(state, SimpleNamespace(name=event["name"], payload=event["payload"]))
    return state


def position(page) -> int:
    return int(re.search(r"version (\d+)", page.locator("#rp-position").inner_text()).group(1))


def test_replay_viewer_steps_to_version_3_with_the_keyboard(page, console_server, screenshot):
    before, after = expected_state(console_server, 2), expected_state(console_server, 3)
    assert before["balance"] != after["balance"]  # the third event changes the balance

    # The page's timers on a clock the test can move (it runs at the real pace until then).
    page.clock.install()
    page.goto(f"/replay/?stream={quote(ALICE, safe='')}")
    page.wait_for_selector("#rp-state li[data-key='balance']")
    assert position(page) == 7  # no version in the URL: the head

    slider = page.locator("#rp-version")
    slider.focus()
    page.keyboard.press("Home")
    page.wait_for_function("() => document.querySelector('#rp-position b').textContent === '1'")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.querySelector('#rp-position b').textContent === '3'")
    assert slider.input_value() == "3"
    assert "version=3" in page.url  # a shareable link

    balance = page.locator("#rp-state li[data-key='balance']")
    assert balance.locator(".json-number").first.inner_text() == str(after["balance"])
    assert "diff-changed" in balance.get_attribute("class")
    assert f"was {before['balance']}" in balance.inner_text()
    for key in ("owner", "currency"):  # unchanged keys carry no diff class
        cls = page.locator(f"#rp-state li[data-key='{key}']").get_attribute("class") or ""
        assert "diff-" not in cls
    assert page.locator("#rp-event .replay-event-name").inner_text() == "Withdrawn"
    changes = page.locator("#rp-changes li.diff-changed").all_inner_texts()
    assert changes == [f"~ balance: {before['balance']} → {after['balance']}"]
    # One tick per snapshot of the wallet's reducer revision (the policy may skip some).
    status, listed = console_server.api("GET", f"/api/v1/streams/{quote(ALICE, safe='')}/snapshots")
    assert status == 200, listed
    revision = console_server.api("GET", f"/api/v1/streams/{quote(ALICE, safe='')}/state")[1][
        "revision"
    ]
    usable = [s for s in listed["snapshots"] if s["revision"] == revision]
    assert usable  # the demo keeps a snapshot every 3 events
    assert page.locator("#rp-ticks .replay-tick").count() == len(usable)
    screenshot(page, "replay", full_page=True)

    # The link keeps the version: a new page opens where this one was.
    page.goto(page.url)
    page.wait_for_function("() => document.querySelector('#rp-position b').textContent === '3'")

    # Play steps forward on its own; pause stops it.
    # 4 / s and a pause from version 4: on a loaded machine the click must still land before
    # play reaches the head (where it stops by itself and a click would start it again).
    page.locator("#rp-speed").select_option("250")
    page.locator("#rp-play").click()
    page.wait_for_function(
        "() => Number(document.querySelector('#rp-position b').textContent) >= 4"
    )
    page.locator("#rp-play").click()  # pause
    assert page.locator("#rp-play").get_attribute("aria-pressed") == "false"
    paused_at = position(page)
    page.clock.run_for(1000)  # fires every timer due within a second: four ticks at 4 / s
    assert position(page) == paused_at

    # Space plays and pauses too (focus on the page, not on a button).
    page.locator("h1").click()
    page.keyboard.press("Home")
    page.wait_for_function("() => document.querySelector('#rp-position b').textContent === '1'")
    page.keyboard.press("Space")
    page.wait_for_function(
        "() => Number(document.querySelector('#rp-position b').textContent) >= 3"
    )
    page.keyboard.press("Space")
    assert page.locator("#rp-play").get_attribute("aria-pressed") == "false"


def test_the_time_slider_goes_to_the_version_reached_by_then(page, console_server):
    status, body = console_server.api(
        "GET", f"/api/v1/streams/{quote(ALICE, safe='')}/events?from_version=1&limit=100"
    )
    assert status == 200
    times = [datetime.fromisoformat(e["timestamp"] or e["recorded_at"]) for e in body["events"]]
    # The slider's stops are the events, evenly spaced: stop 3 is the third event's time.
    at = times[2]
    # The documented rule: the highest version whose events all happened by then.
    expected = max(v for v in range(1, len(times) + 1) if max(times[:v]) <= at)

    page.goto(f"/replay/?stream={quote(ALICE, safe='')}&version=1")
    page.wait_for_selector("#rp-time:not([disabled])")
    # The axis carries the true dates (the 2031 standing order does not squeeze the rest).
    axis = page.locator("#rp-axis span")
    assert axis.count() >= 2
    assert axis.last.inner_text() == "2031-01-01"
    page.eval_on_selector(
        "#rp-time", "el => { el.value = '3'; el.dispatchEvent(new Event('input')); }"
    )
    page.wait_for_function(
        f"() => document.querySelector('#rp-position b').textContent === '{expected}'"
    )
    assert f"reached version {expected}" in page.locator("#rp-status").inner_text()
    assert f"version={expected}" in page.url


def test_replay_of_a_version_neutral_stream_says_why_not(page):
    page.goto("/replay/?stream=ops%2Faudit-log")
    assert "is version-neutral" in page.locator("main").inner_text()


def test_snapshots_page_finds_drift_and_rebuilds_it(page, console_server, screenshot):
    stream = "browser/drifting-wallet"
    path = f"/api/v1/streams/{quote(stream, safe='')}"
    status, body = console_server.api(
        "POST",
        path + "/events",
        {
            "expected_version": 0,
            "category": "wallet",
            "events": [
                {"name": "Opened", "payload": {"owner": "carol", "currency": "EUR"}},
                {"name": "Deposited", "payload": {"amount": 10}},
                {"name": "Deposited", "payload": {"amount": 5}},
                {"name": "Deposited", "payload": {"amount": 1}},
            ],
        },
    )
    assert status == 201, body
    status, state = console_server.api("GET", path + "/state?version=2")
    assert status == 200, state
    # A snapshot of the wallet reducer's revision that does not hold what the events make.
    wrong = {**state["state"], "balance": state["state"]["balance"] + 1000}
    status, body = console_server.api(
        "PUT",
        path + "/snapshots",
        {"version": 2, "payload": wrong, "revision": state["revision"], "label": "bad"},
    )
    assert status == 201, body

    page.goto(f"/snapshots/?stream={quote(stream, safe='')}")
    assert page.locator("tr[data-version='2']").count() == 1
    # The page checks a short stream by itself when it opens.
    page.wait_for_selector("#snap-drift-status .badge.warn")
    assert "differs v2" in page.locator("#snap-findings").inner_text()
    screenshot(page, "snapshots")

    page.locator("#snap-rebuild").click()
    page.wait_for_selector("#snap-drift-status .badge.ok")
    assert "rebuilt 1" in page.locator("#snap-drift-status").inner_text()
    page.locator("#snap-check").click()
    page.wait_for_function(
        "() => document.querySelector('#snap-drift-status .badge')?.textContent === 'no drift'"
    )
    status, body = console_server.api("GET", path + "/snapshots/latest?version=2")
    assert status == 200 and body["payload"] == state["state"]
