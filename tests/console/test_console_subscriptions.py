"""The console's subscriptions page: lag, status and heartbeat, parked events and their
retry, skip and replay buttons (operators and staff only; roles in test_console_ops.py)."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.test import Client

from streams import services
from subscriptions import services as subs

PAGE = "/subscriptions/"


def parked_setup() -> list[int]:
    result = services.append_to_stream("console-s", [{"name": "E1"}, {"name": "E2"}])
    positions = [e.position for e in result.events]
    subs.create_subscription("console.sub", max_attempts=1)
    subs.nack("console.sub", positions[0], "the handler broke")
    return positions


def test_page_lists_status_lag_heartbeat_and_parked_events(db, admin_client):
    positions = parked_setup()
    subs.create_subscription("hooked", push={"kind": "webhook", "url": "http://127.0.0.1:9/h"})
    subs.create_subscription("streamed", push={"kind": "grpc", "target": "127.0.0.1:9"})
    page = admin_client.get(PAGE)
    assert page.status_code == 200
    html = page.content.decode()
    assert "console.sub" in html and "behind" in html
    assert "the handler broke" in html and f'value="{positions[0]}"' in html
    assert 'value="retry"' in html and 'value="skip"' in html and 'value="replay"' in html
    assert "http://127.0.0.1:9/h" in html and 'grpc <code class="wrap">127.0.0.1:9</code>' in html


def test_buttons_retry_skip_and_replay(db, admin_client):
    positions = parked_setup()
    form = {"name": "console.sub", "position": str(positions[0])}
    done = admin_client.post(PAGE, {**form, "action": "retry"}, follow=True)
    assert "will be delivered again" in done.content.decode()
    assert subs.list_parked("console.sub").items[0].status == "retry"
    assert subs.next_batch("console.sub").events[0].position == positions[0]
    admin_client.post(PAGE, {**form, "action": "replay"})
    info = subs.get_subscription("console.sub")
    assert (info.checkpoint, info.parked) == (positions[0] - 1, 0)
    subs.nack("console.sub", positions[0], "again")
    admin_client.post(PAGE, {**form, "action": "skip"})
    assert subs.list_parked("console.sub").items == []
    missing = admin_client.post(PAGE, {**form, "action": "skip"}, follow=True)
    assert "no parked event" in missing.content.decode()


def test_a_user_without_a_role_may_not_act_and_logged_out_users_are_sent_to_login(db):
    positions = parked_setup()
    user = User.objects.create_user("viewer", password="pw")
    client = Client()
    assert client.get(PAGE).status_code == 302
    client.force_login(user)
    html = client.get(PAGE).content.decode()
    assert "console.sub" in html and 'value="retry"' not in html
    form = {"name": "console.sub", "position": str(positions[0]), "action": "skip"}
    refused = client.post(PAGE, form)
    assert refused.status_code == 403
    assert "your role may not" in refused.content.decode()
    assert len(subs.list_parked("console.sub").items) == 1
