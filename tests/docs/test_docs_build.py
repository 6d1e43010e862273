"""`make docs` works: the documentation site builds with --strict and without a network, its
generated reference pages cover the whole REST schema, gRPC proto and CLI, and no page loads
anything from another host."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[2]
# What `make docs` runs, less the make-level install step (the test venv has the docs extra).
BUILD = [sys.executable, "-m", "mkdocs", "build", "--strict"]


def isolation_prefix() -> list[str]:
    """A command prefix that runs a program with no network at all (a new, empty network
    namespace), or [] when this machine does not allow one."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return []
    probe = subprocess.run([unshare, "-rn", "true"], capture_output=True)
    return [unshare, "-rn"] if probe.returncode == 0 else []


def build(config_dir: Path, site_dir: Path, prefix: list[str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLIPBOOK_")}
    env["NO_MKDOCS_2_WARNING"] = "1"
    config = ["--config-file", str(config_dir / "mkdocs.yml"), "--site-dir", str(site_dir)]
    return subprocess.run(
        [*prefix, *BUILD, *config],
        cwd=config_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def offline() -> list[str]:
    return isolation_prefix()


@pytest.fixture(scope="module")
def site(tmp_path_factory, offline) -> Path:
    site_dir = tmp_path_factory.mktemp("site")
    done = build(ROOT, site_dir, offline)
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout}\n{done.stderr}"
    return site_dir


class Resources(HTMLParser):
    """The URLs a page makes the browser load (scripts, stylesheets, images, frames)."""

    def __init__(self) -> None:
        super().__init__()
        self.loaded: list[str] = []
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag in ("script", "img", "iframe", "source", "audio", "video") and attrs.get("src"):
            self.loaded.append(attrs["src"])
        if tag == "link" and attrs.get("href"):
            self.loaded.append(attrs["href"])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])


def parse(page: Path) -> Resources:
    parser = Resources()
    parser.feed(page.read_text())
    return parser


def test_the_build_ran_without_a_network(offline) -> None:
    if not offline:
        reason = "NEEDS `unshare -rn` (a network namespace) to prove the build is offline"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    interfaces = subprocess.run(
        [*offline, sys.executable, "-c", "import socket; print(socket.if_nameindex())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "'lo'" in interfaces
    assert re.findall(r"'([^']+)'", interfaces) == ["lo"], interfaces


def test_make_docs_is_this_build() -> None:
    dry_run = subprocess.run(
        ["make", "-n", "docs"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "mkdocs build --strict" in dry_run


def test_no_page_loads_anything_from_another_host(site: Path) -> None:
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 30
    remote = {
        str(page.relative_to(site)): url
        for page in pages
        for url in parse(page).loaded
        if re.match(r"(https?:)?//", url)
    }
    assert remote == {}
    for stylesheet in site.rglob("*.css"):
        assert "fonts.googleapis" not in stylesheet.read_text(), stylesheet


def test_rest_reference_covers_every_operation_and_schema(site: Path) -> None:
    schema = json.loads((site / "reference" / "openapi.json").read_text())
    page = site / "reference" / "rest" / "index.html"
    html = page.read_text()
    ids = parse(page).ids
    operations = [
        (method, path, op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]
    assert {("post", "/api/v1/streams/{stream_id}/events"), ("get", "/api/v1/events")} <= {
        (m, p) for m, p, _ in operations
    }
    for method, path, op in operations:
        assert op["operationId"] in ids, (method, path)
        assert f"{method.upper()} {path}" in html, (method, path)
    for name in schema["components"]["schemas"]:
        assert f"schema-{name.lower()}" in ids, name


def test_grpc_reference_covers_every_rpc_message_and_enum(site: Path) -> None:
    from flipbook_client._gen.flipbook.v1 import eventstore_pb2

    page = site / "reference" / "grpc" / "index.html"
    ids = parse(page).ids
    file = eventstore_pb2.DESCRIPTOR
    assert {"EventStore", "Subscriptions", "SnapshotStore"} <= set(file.services_by_name)
    for service in file.services_by_name.values():
        for method in service.methods:
            assert method.full_name.replace(".", "-").lower() in ids, method.full_name
    for message in file.message_types_by_name.values():
        assert message.full_name.replace(".", "-").lower() in ids, message.full_name
    for enum in file.enum_types_by_name.values():
        assert enum.full_name.replace(".", "-").lower() in ids, enum.full_name
    # The comments made it: the Append rpc's and a field's.
    html = page.read_text()
    assert "An identical re-send of events with client-chosen ids" in html
    assert "A UUID chosen by the client for idempotent re-sends" in html
    shipped = site / "reference" / "proto" / "flipbook" / "v1" / "eventstore.proto"
    assert shipped.read_bytes() == (ROOT / "proto/flipbook/v1/eventstore.proto").read_bytes()


def test_cli_reference_shows_each_commands_own_options(site: Path) -> None:
    html = (site / "reference" / "cli" / "index.html").read_text()
    for command, option in [
        ("serve", "--http-port"),
        ("flipbook_demo", "--if-empty"),
        ("flipbook_key", "--scope"),
        ("subscriptions", "--once"),
        ("flipbook_snapshots", "--progress-every"),
        ("flipbook_dynamodb", "create-tables"),
    ]:
        assert f'id="{command}"' in html, command
        assert option in html, (command, option)


def test_readme_and_pages_show_the_screenshots_that_exist(site: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    pictures = re.findall(r"\]\((docs/screenshots/[^)]+)\)", readme)
    assert pictures, "the README shows the console"
    for picture in pictures:
        assert (ROOT / picture).is_file(), picture
    console = parse(site / "console" / "index.html").loaded
    shown = [url for url in console if "screenshots/" in url]
    assert len(shown) >= 5
    for url in shown:
        assert (site / "console" / url).resolve().is_file(), url


def test_readme_links_point_at_files_that_exist() -> None:
    readme = (ROOT / "README.md").read_text()
    targets = [t for t in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", readme) if "://" not in t]
    assert "docs/getting-started.md" in targets
    missing = [t for t in targets if not (ROOT / t).exists()]
    assert missing == []
    assert len(readme.splitlines()) < 250


def test_a_page_added_to_an_open_section_joins_the_nav(tmp_path: Path, offline) -> None:
    copy = tmp_path / "project"
    shutil.copytree(ROOT / "docs", copy / "docs")
    for name in ("mkdocs.yml", "README.md", "CHANGELOG.md", "CONTRIBUTING.md"):
        shutil.copy(ROOT / name, copy / name)
    # the hooks run the server and protoc from the checkout they sit in
    for name in ("manage.py", "proto", "flipbook_site", "streams", "snapshots", "api"):
        (copy / name).symlink_to(ROOT / name)
    (copy / "docs" / "clients" / "zz-sample.md").write_text("# Sample client\n\nHello.\n")
    (copy / "docs" / "operations" / "zz-sample.md").write_text("# Sample runbook\n\nHello.\n")
    done = build(copy, tmp_path / "site", offline)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    home = parse(tmp_path / "site" / "index.html").links
    assert "clients/zz-sample/" in home
    assert "operations/zz-sample/" in home
