"""Browser tests: a real `manage.py serve` (fresh SQLite, demo data) driven by Playwright on
Debian's Chromium (/usr/bin/chromium; no browser download). Missing Chromium or Playwright
skips locally and fails in CI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.conftest import IN_CI
from tests.processes import free_port, manage
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = os.environ.get("FLIPBOOK_CHROMIUM", "/usr/bin/chromium")
USERNAME = "console-admin"
PASSWORD = "console-password-1"

# Make the superuser and an admin API key; print the key (the only way to read it).
_SETUP = f"""
from django.contrib.auth import get_user_model
from api.models import ApiKey
get_user_model().objects.create_superuser({USERNAME!r}, "admin@example.com", {PASSWORD!r})
print("KEY=" + ApiKey.issue("browser-tests", "admin")[1])
"""


def require_browser() -> None:
    """Skip (locally) or fail (CI=true) when Playwright or Chromium is missing."""
    reason = ""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reason = "NEEDS PLAYWRIGHT: pip install -e '.[test]'"
    if not reason and not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        reason = f"NEEDS CHROMIUM at {CHROMIUM} (apt-get install chromium)"
    if reason:
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)


@dataclass
class ConsoleServer:
    """A running `manage.py serve` with demo data, a superuser and an admin API key."""

    url: str
    api_key: str
    env: dict[str, str]
    process: subprocess.Popen
    username: str = USERNAME
    password: str = PASSWORD
    log: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def api(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """Call the REST API with the admin key; return (status, JSON body)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def append(self, stream_id: str, events: list[dict], expected_version: Any = "any") -> dict:
        """Append events to a stream through REST; return the response body (asserts 2xx)."""
        status, body = self.api(
            "POST",
            f"/api/v1/streams/{quote(stream_id, safe='')}/events",
            {"expected_version": expected_version, "events": events},
        )
        assert status in (200, 201), (status, body)
        return body

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start_console_server(
    var_dir: Path,
    extra_env: dict[str, str] | None = None,
    setup: tuple[tuple[str, ...], ...] = (),
) -> ConsoleServer:
    """Migrate a fresh database under ``var_dir``, run the ``setup`` manage.py commands, load
    the demo, start `serve`; return it when HTTP answers. ``extra_env`` picks another store
    (e.g. the DynamoDB backend, with ``setup=(("flipbook_dynamodb", "create-tables"),)``)."""
    var_dir.mkdir(parents=True, exist_ok=True)
    # A clean environment: no FLIPBOOK_* setting of the caller leaks into the server.
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLIPBOOK_")}
    http_port, grpc_port = free_port(), free_port()
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "flipbook_site.settings",
            "FLIPBOOK_VAR_DIR": str(var_dir),
            "FLIPBOOK_SECRET_KEY": "browser-tests-secret-key-not-for-production",
            "FLIPBOOK_HTTP_PORT": str(http_port),
            "FLIPBOOK_GRPC_PORT": str(grpc_port),
            "FLIPBOOK_LOG_LEVEL": "WARNING",
            **(extra_env or {}),
        }
    )
    manage(env, "migrate", "--noinput")
    for command in setup:
        manage(env, *command)
    manage(env, "flipbook_demo")
    out = manage(env, "shell", "-c", _SETUP)
    api_key = next(line[4:] for line in out.splitlines() if line.startswith("KEY="))
    log = var_dir / "serve.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "serve"],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{http_port}"
    server = ConsoleServer(url=url, api_key=api_key, env=env, process=process, log=log)

    def healthy() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"serve exited:\n{log.read_text()[-3000:]}")
        with urllib.request.urlopen(url + "/healthz", timeout=1):
            return True

    try:
        wait_until(
            healthy,
            timeout=60,
            interval=0.3,
            ignore=(OSError,),  # not listening yet
            message=lambda: f"serve did not answer:\n{log.read_text()[-3000:]}",
        )
    except AssertionError:
        server.stop()
        raise
    return server


@pytest.fixture(scope="session")
def console_server(tmp_path_factory) -> Iterator[ConsoleServer]:
    """The console on the embedded default (SQLite, in-memory bus), with demo data."""
    require_browser()
    server = start_console_server(tmp_path_factory.mktemp("console"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium through Playwright, one per test module: Playwright's sync
    API runs an asyncio loop in this thread while it is open, which would make every later
    test of the session look async to Django (SynchronousOnlyOperation) and to pytest-asyncio."""
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()


def log_in(browser, server: ConsoleServer, **context_options: Any):
    """A new browser context logged in to ``server``'s console; return its first page."""
    context = browser.new_context(base_url=server.url, **context_options)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/login/")
    page.fill("#id_username", server.username)
    page.fill("#id_password", server.password)
    page.click("button[type=submit]")
    page.wait_for_url(server.url + "/")
    return page


@pytest.fixture
def page(browser, console_server) -> Iterator[Any]:
    """A Playwright page logged in to the console (a fresh browser context per test)."""
    page = log_in(browser, console_server, viewport={"width": 1280, "height": 860})
    yield page
    page.context.close()


@pytest.fixture
def screenshot() -> Callable[..., Path]:
    """``screenshot(page, name)`` writes docs/screenshots/<name>.png (the README shows them)."""

    def take(page, name: str, **options: Any) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), **options)
        return path

    return take


AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_violations(page) -> list[dict]:
    """Run axe-core (the copy axe-playwright-python ships) on ``page`` for WCAG 2.1 A and AA;
    return its violations as ``{id, impact, nodes: [target, ...]}``. The page's context must
    bypass CSP (axe is injected as a script)."""
    import axe_playwright_python

    source = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=source)
    result = page.evaluate(
        "async (tags) => {"
        " const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}});"
        " return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))})); }",
        AXE_TAGS,
    )
    return result


WIDE_ELEMENTS = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [];
  for (const el of document.body.querySelectorAll('*')) {
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || style.display === 'none') continue;
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height) continue;
    if (r.right > width + 1) {
      const classes = String(el.className).trim().replace(/\\s+/g, '.');
      wide.push(`${el.tagName.toLowerCase()}#${el.id}.${classes} ${r.left}..${r.right}`);
    }
  }
  return {width, scrollWidth: document.documentElement.scrollWidth, wide: wide.slice(0, 12)};
}"""


def wide_elements(page) -> dict:
    """The viewport's width, the page's scroll width, and the elements that reach past the
    viewport's right edge (none on a layout that works at this size)."""
    return page.evaluate(WIDE_ELEMENTS)
