"""Operating from the console in Chromium: the health strip turning red on a stall, a
subscription created, paused, reset and deleted from its page, parked events retried and
skipped (one, and everything up to here), a viewer refused every write (no control shown,
403 from the server), every operator action in the audit trail, axe with no violation on
the new pages and no horizontal scrolling at 390x844."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from tests.browser.conftest import ConsoleServer, require_browser, start_console_server

PASSWORD = "ops-password-1"
STALL_SECONDS = 3
_USERS = f"""
from django.contrib.auth.models import Group, User
for role in ("viewer", "operator"):
    user = User.objects.create_user("ops-" + role, password={PASSWORD!r})
    user.groups.add(Group.objects.get(name=role))
"""
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
ACTIONS = [
    "create",
    "pause",
    "resume",
    "reset",
    "delete",
    "retry",
    "skip",
    "replay",
    "retry-through",
    "skip-through",
]


@pytest.fixture(scope="module")
def ops_server(tmp_path_factory) -> Iterator[ConsoleServer]:
    """The console with a short stall threshold, and a viewer and an operator user."""
    require_browser()
    server = start_console_server(
        tmp_path_factory.mktemp("ops"),
        extra_env={"FLIPBOOK_SUBSCRIPTION_STALL_SECONDS": str(STALL_SECONDS)},
        setup=(("shell", "-c", _USERS),),
    )
    yield server
    server.stop()


def login_as(browser, server: ConsoleServer, username: str, **options: Any):
    """A new context (CSP bypassed so axe can be injected) logged in as ``username``."""
    options.setdefault("viewport", {"width": 1280, "height": 900})
    context = browser.new_context(base_url=server.url, bypass_csp=True, **options)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(server.url + "/")
    return page


@pytest.fixture
def operator(browser, ops_server) -> Iterator[Any]:
    page = login_as(browser, ops_server, "ops-operator")
    yield page
    page.context.close()


@pytest.fixture
def viewer(browser, ops_server) -> Iterator[Any]:
    page = login_as(browser, ops_server, "ops-viewer")
    yield page
    page.context.close()


def axe_violations(page) -> list[dict]:
    """axe-core (the copy axe-playwright-python ships) on ``page``, WCAG 2.1 A and AA."""
    from pathlib import Path

    import axe_playwright_python

    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        source = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()
        page.add_script_tag(content=source)
    return page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}}))"
        ".violations.map(v => ({id: v.id, help: v.help, nodes: v.nodes.slice(0, 5)"
        ".map(n => n.target.join(' '))}))",
        AXE_TAGS,
    )


def wider_than_viewport(page) -> list[str]:
    """Elements whose right edge passes the viewport (and the page's scroll width)."""
    return page.evaluate(
        """() => {
          const width = document.documentElement.clientWidth;
          const wide = [];
          const scroll = document.documentElement.scrollWidth;
          if (scroll > width) wide.push('document ' + scroll);
          for (const el of document.body.querySelectorAll('*')) {
            const r = el.getBoundingClientRect();
            if (!r.width || !r.height) continue;
            if (el.closest('dialog:not([open])')) continue;
            const what = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + '.' + el.className;
            if (r.right > width + 1) wide.push(what + ' ' + Math.round(r.right));
          }
          return wide.slice(0, 10);
        }"""
    )


def new_name(prefix: str) -> str:
    return f"{prefix}.{uuid.uuid4().hex[:8]}"


def make_parked(server: ConsoleServer, name: str, count: int) -> list[int]:
    """A subscription of its own stream with ``count`` parked events; their positions."""
    stream = f"ops/{name}"
    status, _ = server.api(
        "POST",
        "/api/v1/subscriptions/",
        {"name": name, "filter": {"stream_id": stream}, "start": "end", "max_attempts": 1},
    )
    assert status == 201
    server.append(
        stream, [{"name": "Deposited", "payload": {"amount": i + 1}} for i in range(count)]
    )
    status, batch = server.api("POST", f"/api/v1/subscriptions/{name}/next?max={count}")
    positions = [e["position"] for e in batch["events"]]
    assert len(positions) == count
    for position in positions:
        status, nacked = server.api(
            "POST",
            f"/api/v1/subscriptions/{name}/nack",
            {"position": position, "error": f"no handler for amount at {position}"},
        )
        assert nacked["parked"] is True
    return positions


def delete_subscription(server: ConsoleServer, name: str) -> None:
    server.api("DELETE", f"/api/v1/subscriptions/{name}")


def confirm(page, expected: str) -> None:
    """The confirmation dialog is open and names the change; accept it."""
    dialog = page.locator("#confirm-dialog")
    dialog.wait_for(state="visible")
    assert expected in page.text_content("#confirm-text")
    page.click("#confirm-ok")


def card(page, name: str):
    return page.locator(f"article[data-name='{name}']")


def test_the_health_strip_turns_red_when_a_subscription_stalls(operator, ops_server, screenshot):
    from playwright.sync_api import expect

    name = new_name("stalls")
    status, _ = ops_server.api(
        "POST",
        "/api/v1/subscriptions/",
        {"name": name, "filter": {"stream_id": f"ops/{name}"}, "start": "end"},
    )
    assert status == 201
    try:
        page = operator
        page.goto("/")
        strip = page.locator("#health-strip")
        expect(strip).not_to_have_attribute("data-state", "unknown")
        assert strip.get_attribute("data-state") != "bad", page.text_content("#health-text")
        # No consumer ever came and an event waits for longer than the stall threshold.
        ops_server.append(f"ops/{name}", [{"name": "Waiting"}])
        expect(strip).to_have_attribute("data-state", "bad", timeout=STALL_SECONDS * 1000 + 15_000)
        assert f"{name} is stalled (1 behind)" in page.text_content("#health-text")
        row = page.locator("#health-subs tr", has_text=name)
        expect(row).to_have_attribute("data-status", "stalled")
        assert page.locator("#health-problems a", has_text=f"{name} is stalled").count() == 1
        assert page.text_content("#health-backend") == "DatabaseEventStore: ok"
        assert page.text_content("#health-bus") == "in-process: ok"
        screenshot(page, "health-stalled", full_page=True)
        # The strip links straight to the problem.
        page.click("#health-link")
        page.wait_for_url(re.compile(r"/subscriptions/#sub-"))
        expect(card(page, name)).to_have_attribute("data-status", "stalled")
        # A consumer takes the event and acknowledges it: the strip is no longer red.
        batch = ops_server.api("POST", f"/api/v1/subscriptions/{name}/next")[1]
        position = batch["events"][0]["position"]
        ops_server.api("POST", f"/api/v1/subscriptions/{name}/ack", {"position": position})
        page.goto("/")
        expect(page.locator("#health-subs tr", has_text=name)).not_to_have_attribute(
            "data-status", "stalled", timeout=15_000
        )
        expect(page.locator("#health-strip")).not_to_have_attribute("data-state", "bad")
    finally:
        delete_subscription(ops_server, name)


def test_a_subscription_created_paused_reset_and_deleted_from_the_page(
    operator, ops_server, screenshot
):
    from playwright.sync_api import expect

    page = operator
    name = new_name("made")
    page.goto("/subscriptions/")
    if page.locator("details.ops-create[open]").count() == 0:  # open when the list is empty
        page.locator("summary", has_text="New subscription").click()
    page.fill("#new-name", name)
    page.select_option("#new-filter-kind", "stream")
    page.fill("#new-filter-value", f"ops/{name}")
    page.select_option("#new-start", "beginning")
    page.click("#create-form button[type=submit]")
    expect(page.locator(".ops-messages")).to_contain_text(f"{name}: created")
    sub = card(page, name)
    expect(sub).to_be_visible()
    # Live: an event appended elsewhere shows as lag without reloading the page.
    refreshed = page.get_attribute("#subs-live", "data-refreshed") or "0"
    ops_server.append(f"ops/{name}", [{"name": "A"}, {"name": "B"}])
    expect(sub.locator(".sub-lag")).to_have_text("2", timeout=15_000)
    assert (page.get_attribute("#subs-live", "data-refreshed") or "0") != refreshed
    # Pause, with a confirmation that names the change.
    sub.locator("button[value=pause]").click()
    confirm(page, f"Pause {name}? Nothing is delivered")
    expect(card(page, name)).to_have_attribute("data-status", "paused")
    assert ops_server.api("POST", f"/api/v1/subscriptions/{name}/next")[1]["events"] == []
    card(page, name).locator("button[value=resume]").click()
    expect(card(page, name)).not_to_have_attribute("data-status", "paused")
    # Reset to the end: the dialog says from where to where.
    sub = card(page, name)
    sub.locator("select[name=to]").select_option("end")
    sub.locator(".sub-reset button[type=submit]").click()
    confirm(page, f"Move the checkpoint of {name} from 0 to the end of the feed")
    expect(page.locator(".ops-messages")).to_contain_text("checkpoint moved from 0 to")
    expect(card(page, name).locator(".sub-lag")).to_have_text("0")
    screenshot(page, "subscriptions-ops", full_page=True)
    # Cancelling a delete changes nothing; confirming removes it.
    card(page, name).locator("button[value=delete]").click()
    page.click("#confirm-cancel")
    expect(card(page, name)).to_be_visible()
    card(page, name).locator("button[value=delete]").click()
    confirm(page, f"Delete {name} for good?")
    expect(page.locator(".ops-messages")).to_contain_text(f"{name}: deleted")
    expect(card(page, name)).to_have_count(0)
    assert ops_server.api("GET", f"/api/v1/subscriptions/{name}")[0] == 404
    # Each action is in the audit trail, by this operator, from the console.
    page.goto(f"/audit/?target={quote(name)}")
    actions = page.locator(".audit-item .audit-action").all_text_contents()
    assert actions == [
        "subscription.delete",
        "subscription.reset",
        "subscription.resume",
        "subscription.pause",
        "subscription.create",
    ]
    assert set(page.locator(".audit-item .audit-actor").all_text_contents()) == {"ops-operator"}
    screenshot(page, "audit-trail", full_page=True)


def test_parked_events_retried_skipped_and_in_bulk_with_triage(operator, ops_server, screenshot):
    from playwright.sync_api import expect

    page = operator
    name = new_name("parks")
    positions = make_parked(ops_server, name, 5)
    try:
        # Triage of the third: the state around it, and who is held up.
        page.goto(f"/subscriptions/parked/?name={name}&position={positions[2]}")
        assert page.text_content("h1").startswith("Deposited")
        assert f"no handler for amount at {positions[2]}" in page.text_content("body")
        expect(page.locator(".replay-changes")).to_contain_text("amount")
        assert "parked it after 1 attempt" in page.text_content("#stuck-title + ul")
        assert axe_violations(page) == []
        screenshot(page, "parked-triage", full_page=True)
        page.goto(f"/subscriptions/#sub-{name}")
        items = card(page, name).locator(".parked-item")
        expect(items).to_have_count(5)
        # Retry the first.
        items.nth(0).locator("button[value=retry]").click()
        expect(page.locator(".ops-messages")).to_contain_text(
            f"the event at position {positions[0]} will be delivered again"
        )
        expect(card(page, name).locator(".parked-item").nth(0)).to_contain_text("retry asked")
        # Skip the second (confirmed).
        card(page, name).locator(".parked-item").nth(1).locator("button[value=skip]").click()
        confirm(page, f"Skip the Deposited event at position {positions[1]} for {name}?")
        expect(card(page, name).locator(".parked-item")).to_have_count(4)
        # Retry everything up to the third of the remaining (positions[3]).
        item = card(page, name).locator(f".parked-item[data-position='{positions[3]}']")
        item.locator("button[value=retry-through]").click()
        confirm(page, f"Retry the 3 parked events of {name} up to position {positions[3]}?")
        expect(page.locator(".ops-messages")).to_contain_text("2 parked events up to position")
        expect(card(page, name).locator(".badge", has_text="retry asked")).to_have_count(3)
        # Skip everything up to the last.
        item = card(page, name).locator(f".parked-item[data-position='{positions[4]}']")
        item.locator("button[value=skip-through]").click()
        confirm(page, f"Skip the 4 parked events of {name} up to position {positions[4]}?")
        expect(page.locator(".ops-messages")).to_contain_text("4 parked events up to position")
        expect(card(page, name).locator(".parked-item")).to_have_count(0)
        assert ops_server.api("GET", f"/api/v1/subscriptions/{name}")[1]["parked"] == 0
        page.goto(f"/audit/?target={quote(name)}")
        assert page.locator(".audit-item .audit-action").all_text_contents() == [
            "parked.skip_through",
            "parked.retry_through",
            "parked.skip",
            "parked.retry",
            "subscription.create",  # by the API key that made it
        ]
    finally:
        delete_subscription(ops_server, name)


def test_a_viewer_sees_no_write_control_and_the_server_refuses_each_write(viewer, ops_server):
    page = viewer
    name = new_name("guarded")
    positions = make_parked(ops_server, name, 1)
    try:
        page.goto("/subscriptions/")
        assert card(page, name).is_visible()
        assert page.locator("#create-form").count() == 0
        assert page.locator("button[name=action], .sub-actions").count() == 0
        assert page.locator(".sub-reset").count() == 0
        token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
        for action in ACTIONS:
            form = {"action": action, "name": name, "position": str(positions[0]), "to": "end"}
            response = page.request.post(
                "/subscriptions/",
                form=form,
                headers={"X-CSRFToken": token},
                max_redirects=0,
            )
            assert response.status == 403, action
            assert "your role may not" in response.text()
        rebuild = page.request.post(
            "/data/snapshots/drift?stream=" + quote("ops/" + name, safe=""),
            headers={"X-CSRFToken": token},
        )
        assert rebuild.status == 403
        info = ops_server.api("GET", f"/api/v1/subscriptions/{name}")[1]
        assert (info["parked"], info["paused"]) == (1, False)
        page.goto(f"/audit/?target={quote(name)}")
        # Refused writes left no record: only the API key's create is there.
        assert page.locator(".audit-item .audit-action").all_text_contents() == [
            "subscription.create"
        ]
        assert page.text_content(".audit-item .audit-actor").startswith("key:browser-tests#")
        page.goto(f"/subscriptions/parked/?name={name}&position={positions[0]}")
        assert page.locator("button[name=action]").count() == 0
    finally:
        delete_subscription(ops_server, name)


@pytest.mark.parametrize("path", ["/", "/subscriptions/", "/audit/", "PARKED"])
def test_axe_finds_nothing_and_nothing_is_wider_than_a_phone(browser, ops_server, path, screenshot):
    name = new_name("phone")
    positions = make_parked(ops_server, name, 2)
    if path == "PARKED":
        path = f"/subscriptions/parked/?name={name}&position={positions[0]}"
    try:
        for viewport in ({"width": 1280, "height": 900}, {"width": 390, "height": 844}):
            page = login_as(browser, ops_server, "ops-operator", viewport=viewport)
            try:
                page.goto(path)
                page.wait_for_selector("#health-strip:not([data-state='unknown'])")
                if path == "/":
                    page.wait_for_selector("#health-subs tr[data-status]")
                assert axe_violations(page) == [], (path, viewport)
                if viewport["width"] == 390:
                    assert wider_than_viewport(page) == [], path
                    if path == "/subscriptions/":
                        screenshot(page, "subscriptions-phone")
            finally:
                page.context.close()
    finally:
        delete_subscription(ops_server, name)


def test_export_by_role_and_personal_fields_masked(
    browser, viewer, ops_server, tmp_path, screenshot
):
    category = f"pd{uuid.uuid4().hex[:8]}"
    stream = f"{category}/member-1"
    status, body = ops_server.api(
        "POST",
        f"/api/v1/streams/{quote(stream, safe='')}/events",
        {
            "category": category,
            "events": [
                {
                    "name": "Joined",
                    "payload": {"email": "ada@example.com", "plan": "gold"},
                    # The event's own marker: $.email is personal (streams/personal_data).
                    "metadata": {"personal_data": {"fields": ["$.email"]}},
                }
            ],
        },
    )
    assert status == 201, body

    # A viewer: no export button, and the URL answers 403.
    viewer.goto(f"/feed/?category={category}")
    viewer.wait_for_selector("#feed-body tr[data-position]")
    assert viewer.locator("#export-jsonl, #export-csv").count() == 0
    refused = viewer.request.get(f"/feed/export?format=jsonl&category={category}")
    assert refused.status == 403
    assert "export" in refused.json()["error"]["message"]
    # The viewer's event view masks the personal field.
    viewer.locator("#feed-body button.linkish").first.click()
    viewer.wait_for_selector("#feed-event:not([hidden])")
    body_text = viewer.locator("#feed-event-body").inner_text()
    assert "ada@example.com" not in body_text and "masked" in body_text
    assert "gold" in body_text

    # An operator exports; the file masks the personal field and keeps the rest.
    page = login_as(browser, ops_server, "ops-operator", accept_downloads=True)
    try:
        page.goto(f"/feed/?category={category}")
        page.wait_for_selector("#feed-body tr[data-position]")
        assert page.locator("#masked-note").is_visible()
        screenshot(page, "feed-export-masked", full_page=False)
        with page.expect_download() as info:
            page.click("#export-jsonl")
        path = tmp_path / "export.jsonl"
        info.value.save_as(path)
        exported = [json.loads(line) for line in path.read_text().splitlines()]
        assert [e["payload"] for e in exported] == [{"email": {"masked": True}, "plan": "gold"}]
        with page.expect_download() as info:
            page.click("#export-csv")
        path = tmp_path / "export.csv"
        info.value.save_as(path)
        assert "ada@example.com" not in path.read_text()
        assert "masked" in path.read_text()
    finally:
        page.context.close()
