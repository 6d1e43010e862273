"""The `flipbook` command line, run as a subprocess of the installed entry point: read, append,
tail, export, import and migrate --from/--to against the local store (a SQLite file of the
test), other stores by URL (Redis, DynamoDB Local), and a real `flipbook serve` (the server
of tests/sdk, through the Python SDK)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.contracts.snapshot_store import REDIS_URL, require_redis
from tests.dynamodb_fixtures import dynamodb_local  # noqa: F401
from tests.sdk.conftest import flipbook_server  # noqa: F401

FLIPBOOK = str(Path(sys.executable).with_name("flipbook"))
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def local_env(tmp_path_factory) -> dict[str, str]:
    """The environment of a project whose configured store is a fresh SQLite file."""
    var_dir = tmp_path_factory.mktemp("cli")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("FLIPBOOK_") and k != "DJANGO_SETTINGS_MODULE"
    }
    env.update(
        FLIPBOOK_VAR_DIR=str(var_dir),
        FLIPBOOK_DATABASE_URL=f"sqlite:///{var_dir / 'flipbook.sqlite3'}",
        FLIPBOOK_SECRET_KEY="cli-tests-secret-key-not-for-production",
    )
    done = run(env, "migrate", "--noinput", "-v", "0")
    assert done.returncode == 0, done.stderr
    return env


def run(env: dict[str, str], *args: str, stdin: str | None = None, timeout: float = 120):
    return subprocess.run(
        [FLIPBOOK, *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def sqlite_url(env: dict[str, str], name: str) -> str:
    return f"sqlite:///{Path(env['FLIPBOOK_VAR_DIR']) / name}"


# -- the local store --------------------------------------------------------------------------


def test_append_then_read_as_a_table_and_as_json_lines(local_env):
    sid = f"order/{uuid.uuid4().hex[:8]}"
    done = run(local_env, "append", sid, "--name", "Placed", "--payload", '{"total": 12}')
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].split() == ["VERSION", "POSITION", "NAME", "ID"]
    assert "Placed" in done.stdout
    events = "".join(
        json.dumps({"name": "Paid", "payload": {"n": i}, "metadata": {"by": "cli"}}) + "\n"
        for i in range(250)
    )
    done = run(local_env, "append", sid, "--output", "json", stdin=events)
    assert done.returncode == 0, done.stderr
    stored = json_lines(done.stdout)
    assert [e["version"] for e in stored] == list(range(2, 252))  # three appends of <= 100

    done = run(local_env, "read", sid, "--output", "json")
    assert done.returncode == 0, done.stderr
    read = json_lines(done.stdout)
    assert [e["version"] for e in read] == list(range(1, 252))
    assert read[0]["payload"] == {"total": 12} and read[-1]["metadata"] == {"by": "cli"}
    table = run(local_env, "read", sid, "--backwards", "--limit", "2").stdout.splitlines()
    assert table[0].split()[:3] == ["VERSION", "POSITION", "NAME"]
    assert [row.split()[0] for row in table[1:]] == ["251", "250"]


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["read", "no-such-stream"], None, "not_found: stream 'no-such-stream' has no events"),
        (["append", "s", "--name", "N", "--payload", "{oops"], None, "--payload: is not JSON"),
        (["append", "s"], "[1, 2]\n", "stdin line 1: must be a JSON object"),
        (["append", "s"], "", "no events"),
        (["append", "s", "--name", "N", "--expected-version", "7"], None, "version_conflict"),
        (["append", "", "--name", "N"], None, "validation_error: stream_id"),
        (["tail"], None, "give one of STREAM, --all or --category"),
        (["import", "-f", "/dev/null"], None, "is not the header of a Flipbook export"),
        (["migrate", "--from", "default"], None, "give both --from URL and --to URL"),
        (["migrate", "--from", "default", "--to", "ftp://x"], None, "names no event store"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(local_env, args, stdin, message):
    done = run(local_env, *args, stdin=stdin)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_export_then_import_into_an_empty_store_and_refuse_a_non_empty_one(local_env, tmp_path):
    for i in range(3):
        events = "".join(json.dumps({"name": "E", "payload": n}) + "\n" for n in range(10))
        run(local_env, "append", f"cli-x/{i}", stdin=events)
    export = tmp_path / "store.jsonl"
    done = run(local_env, "export", "-f", str(export))
    assert done.returncode == 0, done.stderr
    assert "exported" in done.stderr and "checksum sha256:" in done.stderr
    lines = json_lines(export.read_text())
    checksum = lines[-1]["checksum"]
    assert lines[0]["type"] == "flipbook-export" and lines[-1]["type"] == "end"

    other = sqlite_url(local_env, f"other-{uuid.uuid4().hex[:6]}.sqlite3")
    done = run(local_env, "import", "-f", str(export), "--store", other, "--output", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["checksum"] == checksum
    assert report["kept"] == ["positions", "recorded_at"]
    again = run(local_env, "export", "--store", other, "--quiet")
    assert again.stdout.splitlines()[1:] == export.read_text().splitlines()[1:]

    refused = run(local_env, "import", "-f", str(export), "--store", other)
    assert refused.returncode == 2
    assert "store_not_empty" in refused.stderr and "merge" in refused.stderr
    merged = run(
        local_env, "import", "-f", str(export), "--store", other, "--merge", "--output", "json"
    )
    assert merged.returncode == 0, merged.stderr
    assert json.loads(merged.stdout)["skipped"] == report["events"]
    # From standard input, with the progress on stderr.
    piped = run(
        local_env,
        "import",
        "--store",
        sqlite_url(local_env, f"piped-{uuid.uuid4().hex[:6]}.sqlite3"),
        stdin=export.read_text(),
    )
    assert piped.returncode == 0, piped.stderr
    assert "import" in piped.stderr and checksum in piped.stdout


def test_migrate_copies_sqlite_to_redis_to_dynamodb_with_equal_checksums(
    local_env,
    dynamodb_local,  # noqa: F811
):
    require_redis()
    run(local_env, "append", "mig/1", "--name", "A", "--category", "m", "--payload", "[1]")
    run(local_env, "append", "mig/2", "--name", "B", "--kind", "neutral")
    prefix = f"cli-{uuid.uuid4().hex[:8]}"
    redis_url = f"{REDIS_URL.rstrip('/')}?prefix={prefix}"
    dynamodb_url = f"dynamodb://{dynamodb_local.split('://', 1)[1]}?prefix={prefix}_"
    first = run(local_env, "migrate", "--from", "default", "--to", redis_url)
    assert first.returncode == 0, first.stderr
    second = run(local_env, "migrate", "--from", redis_url, "--to", dynamodb_url)
    assert second.returncode == 0, second.stderr
    checksums = {
        line.split("checksum ")[1]
        for line in (first.stdout + second.stdout).splitlines()
        if "checksum sha256" in line
    }
    assert len(checksums) == 1
    assert "positions and recorded times identical" in second.stdout
    exported = run(local_env, "export", "--store", dynamodb_url, "--output", "json")
    assert json.loads(exported.stderr.splitlines()[-1])["checksum"] in checksums
    again = run(local_env, "migrate", "--from", "default", "--to", redis_url)
    assert again.returncode == 2 and "store_not_empty" in again.stderr


def test_tail_follows_new_events_until_its_count(local_env):
    sid = f"tail/{uuid.uuid4().hex[:8]}"
    tail = subprocess.Popen(
        [FLIPBOOK, "tail", "--all", "--count", "3", "--output", "json", "--interval", "0.1"],
        cwd=ROOT,
        env=local_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # The tail starts at the store's end: append until it has seen three of them.
        deadline = time.monotonic() + 60
        n = 0
        while tail.poll() is None and time.monotonic() < deadline:
            n += 1
            run(local_env, "append", sid, "--name", f"E{n}", "--payload", str(n))
        out, err = tail.communicate(timeout=30)
    finally:
        if tail.poll() is None:
            tail.kill()
    assert tail.returncode == 0, err
    seen = json_lines(out)
    assert len(seen) == 3
    assert {e["stream_id"] for e in seen} == {sid}
    versions = [e["version"] for e in seen]
    assert versions == list(range(versions[0], versions[0] + 3))  # consecutive, none missed
    followed = run(local_env, "tail", sid, "--from-start", "--count", "2", "--output", "json")
    assert [e["name"] for e in json_lines(followed.stdout)] == ["E1", "E2"]
    log = f"log/{uuid.uuid4().hex[:8]}"  # a version-neutral stream is followed on the feed
    run(local_env, "append", log, "--name", "L1", "--kind", "neutral")
    run(local_env, "append", log, "--name", "L2")
    followed = run(local_env, "tail", log, "--from-start", "--count", "2", "--output", "json")
    assert [(e["name"], e["version"]) for e in json_lines(followed.stdout)] == [
        ("L1", None),
        ("L2", None),
    ]


def test_ctrl_c_ends_a_tail_with_exit_code_0(local_env):
    tail = subprocess.Popen(
        [FLIPBOOK, "tail", "--all", "--interval", "0.05"],
        cwd=ROOT,
        env=local_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        header = tail.stdout.readline()  # printed once it follows the feed
        assert header.split()[:2] == ["POSITION", "STREAM_ID"]
        sid = f"int/{uuid.uuid4().hex[:8]}"
        run(local_env, "append", sid, "--name", "Seen")
        assert sid in tail.stdout.readline()  # it is polling the store
        tail.send_signal(signal.SIGINT)
        _out, err = tail.communicate(timeout=30)
    finally:
        if tail.poll() is None:
            tail.kill()
    assert tail.returncode == 0, err
    assert "Error" not in err


def test_flipbook_keeps_its_other_commands(local_env):
    done = run(local_env, "serve", "--help")
    assert done.returncode == 0 and "--http-port" in done.stdout
    plan = run(local_env, "migrate", "--plan")
    assert plan.returncode == 0, plan.stderr


# -- a server ---------------------------------------------------------------------------------


def server_env(local_env: dict[str, str], server) -> dict[str, str]:
    return {**local_env, "FLIPBOOK_URL": server.http_url, "FLIPBOOK_API_KEY": server.key}


def test_append_read_and_tail_against_a_server(local_env, flipbook_server):  # noqa: F811
    sid = f"srv/{uuid.uuid4().hex[:8]}"
    done = run(
        local_env,
        "append",
        sid,
        "--name",
        "Opened",
        "--payload",
        '{"a": 1}',
        "--server",
        flipbook_server.http_url,
        "--key",
        flipbook_server.key,
    )
    assert done.returncode == 0, done.stderr
    env = server_env(local_env, flipbook_server)  # FLIPBOOK_URL and FLIPBOOK_API_KEY
    run(env, "append", sid, "--name", "Closed")
    read = run(env, "read", sid, "--output", "json")
    assert read.returncode == 0, read.stderr
    assert [(e["version"], e["name"]) for e in json_lines(read.stdout)] == [
        (1, "Opened"),
        (2, "Closed"),
    ]
    tail = run(env, "tail", sid, "--from-start", "--count", "2", "--output", "json")
    assert [e["name"] for e in json_lines(tail.stdout)] == ["Opened", "Closed"]
    # Nothing of the local store was touched.
    assert run(local_env, "read", sid).returncode == 2

    wrong = run({**env, "FLIPBOOK_API_KEY": "fbk_not-a-key"}, "read", sid)
    assert wrong.returncode == 2

    # delete: soft on the server, then reads there answer not found (exit 2).
    deleted = run(env, "delete", sid, "--output", "json")
    assert deleted.returncode == 0, deleted.stderr
    assert json_lines(deleted.stdout) == [
        {"stream_id": sid, "version": 2, "event_count": 2, "deleted": "soft"}
    ]
    assert run(env, "read", sid).returncode == 2
    assert run(env, "delete", f"{sid}-missing").returncode == 2
    assert "unauthenticated" in wrong.stderr
    missing = run(env, "read", "srv/none")
    assert missing.returncode == 2 and "not_found" in missing.stderr


def test_export_from_a_server_imports_locally_and_a_server_holding_events_refuses(
    local_env,
    flipbook_server,  # noqa: F811
    tmp_path,
):
    env = server_env(local_env, flipbook_server)
    for i in range(2):
        run(env, "append", f"srv-export/{i}", "--name", "E", "--category", "srvexp")
    export = tmp_path / "server.jsonl"
    done = run(env, "export", "--category", "srvexp", "-f", str(export))
    assert done.returncode == 0, done.stderr
    lines = json_lines(export.read_text())
    assert lines[-1]["events"] == 2 and lines[-1]["streams"] == 2
    target = sqlite_url(local_env, f"from-server-{uuid.uuid4().hex[:6]}.sqlite3")
    imported = run(local_env, "import", "-f", str(export), "--store", target, "--output", "json")
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout)["checksum"] == lines[-1]["checksum"]
    # The test server holds events: an import into it is refused.
    refused = run(env, "import", "-f", str(export))
    assert refused.returncode == 2
    assert "store_not_empty" in refused.stderr


@pytest.fixture
def empty_server(tmp_path):
    """A `flipbook serve` of its own on an empty store, with an admin key."""
    from tests.processes import free_port, manage
    from tests.sdk.conftest import Server, wait_until_serving
    from tests.sdk.conftest import server_env as sdk_server_env

    http_port, grpc_port = free_port(), free_port()
    env = sdk_server_env(tmp_path, http_port, grpc_port)
    manage(env, "migrate", "--noinput")
    key = manage(env, "flipbook_key", "create", "cli-import", "--scope", "admin").strip()
    log = tmp_path / "serve.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [FLIPBOOK, "serve"], cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT
        )
    server = Server(f"http://127.0.0.1:{http_port}", f"127.0.0.1:{grpc_port}", key, env)
    try:
        wait_until_serving(process, server.http_url, server.grpc_target, log)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


def test_import_through_a_server_renumbers_positions_and_keeps_the_checksum(
    local_env, empty_server, tmp_path
):
    prefix = f"imp/{uuid.uuid4().hex[:8]}/"
    for name in ("a", "b"):
        events = "".join(json.dumps({"name": "E", "payload": n}) + "\n" for n in range(20))
        run(local_env, "append", prefix + name, stdin=events)
    run(local_env, "append", prefix + "log", "--name", "L", "--kind", "neutral")
    export = tmp_path / "for-server.jsonl"
    done = run(local_env, "export", "--prefix", prefix, "-f", str(export))
    assert done.returncode == 0, done.stderr
    checksum = json_lines(export.read_text())[-1]["checksum"]

    env = server_env(local_env, empty_server)
    done = run(env, "import", "-f", str(export), "--output", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["checksum"] == checksum and report["kept"] == []
    again = run(env, "export", "--output", "json", "--quiet")
    assert json.loads(again.stderr.splitlines()[-1])["checksum"] == checksum
    assert run(env, "import", "-f", str(export)).returncode == 2  # not empty any more


# -- retention, scavenge and erase --------------------------------------------------------------


def test_retention_and_scavenge_on_the_local_store(local_env):
    sid = f"keep/{uuid.uuid4().hex[:8]}"
    for name in "ABCD":
        run(local_env, "append", sid, "--name", name)
    shown = run(local_env, "retention", sid, "--output", "json")
    assert shown.returncode == 0, shown.stderr
    assert json_lines(shown.stdout)[0]["source"] == "none"
    done = run(local_env, "retention", sid, "--max-count", "1", "--output", "json")
    assert done.returncode == 0, done.stderr
    assert json_lines(done.stdout) == [
        {"stream_id": sid, "source": "stream", "max_age": None, "max_count": 1, "category": None}
    ]
    table = run(local_env, "retention", sid)
    assert "SOURCE" in table.stdout and "stream" in table.stdout
    scavenged = run(local_env, "scavenge", "--output", "json")
    assert scavenged.returncode == 0, scavenged.stderr
    report = json.loads(scavenged.stdout)
    assert report["removed_events"] >= 3 and report["complete"] is True
    read = run(local_env, "read", sid, "--output", "json")
    assert [e["name"] for e in json_lines(read.stdout)] == ["D"]
    cleared = run(local_env, "retention", sid, "--clear", "--output", "json")
    assert json_lines(cleared.stdout)[0]["source"] == "none"
    for args, message in (
        (("--clear",), "not_found"),
        (("--max-count", "0"), "validation_error"),
        (("--clear", "--max-age", "5"), "not both"),
    ):
        refused = run(local_env, "retention", sid, *args)
        assert refused.returncode == 2 and message in refused.stderr, (args, refused.stderr)


def test_retention_scavenge_and_erase_against_a_server(local_env, flipbook_server):  # noqa: F811
    env = server_env(local_env, flipbook_server)
    sid = f"srv-keep/{uuid.uuid4().hex[:8]}"
    for name in "ABCDE":
        run(env, "append", sid, "--name", name)
    done = run(env, "retention", sid, "--max-count", "2", "--output", "json")
    assert done.returncode == 0, done.stderr
    assert json_lines(done.stdout)[0]["source"] == "stream"
    # The local store knows nothing of it.
    assert (
        json_lines(run(local_env, "retention", sid, "--output", "json").stdout)[0]["source"]
        == "none"
    )
    # One event per request: the command repeats requests until the server says complete.
    scavenged = run(env, "scavenge", "--limit", "1")
    assert scavenged.returncode == 0, scavenged.stderr
    assert "removed 1 events" in scavenged.stdout and "events removed from" in scavenged.stdout
    read = run(env, "read", sid, "--output", "json")
    assert [e["name"] for e in json_lines(read.stdout)] == ["D", "E"]
    assert (
        json_lines(run(env, "retention", sid, "--clear", "--output", "json").stdout)[0]["source"]
        == "none"
    )

    subject = f"cli-{uuid.uuid4().hex[:8]}"
    marked = json.dumps({"personal_data": {"subject": subject, "fields": ["$.email"]}})
    run(
        env,
        "append",
        sid,
        "--name",
        "Mailed",
        "--payload",
        '{"email": "c@example.com"}',
        "--metadata",
        marked,
    )
    erased = run(env, "erase", subject, "--output", "json")
    assert erased.returncode == 0, erased.stderr
    row = json_lines(erased.stdout)[0]
    assert (row["subject"], row["keys_destroyed"]) == (subject, 1)
    assert row["erased_by"].startswith("key:")
    last = json_lines(run(env, "read", sid, "--output", "json").stdout)[-1]
    assert last["payload"] == {"email": {"erased": True}}
    again = run(env, "erase", subject)
    assert again.returncode == 2 and "not_found" in again.stderr
    by = run(env, "erase", subject, "--by", "someone")
    assert by.returncode == 2 and "--by" in by.stderr
    # Scavenging and erasing need an admin key: a write key is refused.
    write_key = subprocess.run(
        [sys.executable, "manage.py", "flipbook_key", "create", "cli-writer", "--scope", "write"],
        cwd=ROOT,
        env=flipbook_server.env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    for args in (("scavenge",), ("erase", subject)):
        refused = run({**env, "FLIPBOOK_API_KEY": write_key}, *args)
        assert refused.returncode == 2 and "permission_denied" in refused.stderr, args


class ServeProcess:
    """A `flipbook serve` on an empty SQLite store that a test can stop and start again on
    the same ports and store."""

    def __init__(self, tmp_path: Path) -> None:
        from tests.processes import free_port, manage
        from tests.sdk.conftest import server_env as sdk_server_env

        self.tmp_path = tmp_path
        self.http_port, self.grpc_port = free_port(), free_port()
        self.env = sdk_server_env(tmp_path, self.http_port, self.grpc_port)
        manage(self.env, "migrate", "--noinput")
        self.key = manage(self.env, "flipbook_key", "create", "cli-tail", "--scope", "admin")
        self.key = self.key.strip()
        self.http_url = f"http://127.0.0.1:{self.http_port}"
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        from tests.sdk.conftest import wait_until_serving

        self.starts += 1
        log = self.tmp_path / f"serve-{self.starts}.log"
        with log.open("wb") as log_file:
            self.process = subprocess.Popen(
                [FLIPBOOK, "serve"],
                cwd=ROOT,
                env=self.env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        wait_until_serving(self.process, self.http_url, f"127.0.0.1:{self.grpc_port}", log)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self.process = None


@pytest.fixture
def serve_process(tmp_path):
    server = ServeProcess(tmp_path)
    server.start()
    yield server
    server.stop()


def _read_lines(stream, into: list[str]) -> None:
    for line in stream:
        into.append(line)


def test_tail_against_a_server_is_live_and_resumes_after_a_restart_with_no_gap_or_duplicate(
    local_env, serve_process
):
    import threading

    from flipbook_client import Client

    server = serve_process
    env = {**local_env, "FLIPBOOK_URL": server.http_url, "FLIPBOOK_API_KEY": server.key}
    sid = "live/tail"

    def append(name: str) -> None:
        with Client(server.http_url, server.key) as client:
            client.append(sid, [{"name": name}])

    def printed() -> list[dict]:
        return json_lines("".join(out))

    def wait_for(count: int) -> None:
        deadline = time.monotonic() + 60
        while len(printed()) < count and tail.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(printed()) >= count, (printed(), "".join(err))

    append("E1")
    tail = subprocess.Popen(
        [FLIPBOOK, "tail", "--all", "--from-start", "--count", "9", "--output", "json"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out: list[str] = []
    err: list[str] = []
    readers = [
        threading.Thread(target=_read_lines, args=(tail.stdout, out), daemon=True),
        threading.Thread(target=_read_lines, args=(tail.stderr, err), daemon=True),
    ]
    for reader in readers:
        reader.start()
    try:
        wait_for(1)  # caught up from the store: subscribed, so what follows arrives live
        for name in ("E2", "E3"):
            append(name)
            wait_for(int(name[1:]))
        server.stop()
        # Committed while the tail has no server: the catch-up after reconnecting sends them.
        for name in ("E4", "E5"):
            done = run(server.env, "append", sid, "--name", name)
            assert done.returncode == 0, done.stderr
        time.sleep(1)  # the tail retries against a closed port meanwhile
        server.start()
        for name in ("E6", "E7", "E8", "E9"):
            append(name)
        tail.wait(60)
    finally:
        if tail.poll() is None:
            tail.kill()
            tail.wait(10)
        for reader in readers:
            reader.join(10)
    assert tail.returncode == 0, "".join(err)
    events = printed()
    assert [e["name"] for e in events] == [f"E{n}" for n in range(1, 10)]
    assert [e["version"] for e in events] == list(range(1, 10))
    positions = [e["position"] for e in events]
    assert positions == sorted(set(positions))  # in order, none twice
    assert "retrying" in "".join(err) or "resuming" in "".join(err)


def test_tail_of_a_category_against_a_server_prints_only_that_category_live(
    local_env, serve_process
):
    from flipbook_client import Client

    server = serve_process
    env = {**local_env, "FLIPBOOK_URL": server.http_url, "FLIPBOOK_API_KEY": server.key}
    with Client(server.http_url, server.key) as client:
        client.append("wallet-1", [{"name": "Old"}], category="wallet")  # before: not shown
        tail = subprocess.Popen(
            [FLIPBOOK, "tail", "--category", "wallet", "--count", "2", "--output", "json"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            # The tail starts at the feed's end once it has read it: append until it shows.
            deadline = time.monotonic() + 60
            n = 0
            while tail.poll() is None and time.monotonic() < deadline:
                n += 1
                client.append("order-1", [{"name": f"Other{n}"}], category="order")
                client.append("wallet-2", [{"name": f"New{n}"}], category="wallet")
                time.sleep(0.3)
            out, err = tail.communicate(timeout=30)
        finally:
            if tail.poll() is None:
                tail.kill()
                tail.wait(10)
    assert tail.returncode == 0, err
    events = json_lines(out)
    assert [e["stream_id"] for e in events] == ["wallet-2", "wallet-2"]
    names = [e["name"] for e in events]
    assert names[0].startswith("New") and names[1] == f"New{int(names[0][3:]) + 1}"
