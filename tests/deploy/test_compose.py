"""deploy/compose/compose.yaml, loaded by compose-go (Docker Compose's own loader: schema,
interpolation, depends_on references) offline, and the scale-out settings it must share."""

from __future__ import annotations

import yaml

from tests.deploy.conftest import DEPLOY, run, tool

COMPOSE = DEPLOY / "compose" / "compose.yaml"


def test_compose_file_is_valid():
    result = run(tool("composecheck"), str(COMPOSE), "FLIPBOOK_SECRET_KEY=test-key")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "flipbook: valid, services: dynamodb flipbook-1 flipbook-2 postgres proxy push redis setup"
    )


def test_compose_refuses_to_start_without_a_secret_key():
    result = run(tool("composecheck"), str(COMPOSE))
    assert result.returncode == 1
    assert "FLIPBOOK_SECRET_KEY" in result.stderr


def test_the_validator_catches_a_broken_file(tmp_path):
    broken = tmp_path / "compose.yaml"
    broken.write_text(
        "services:\n  web:\n    image: nginx\n    depends_on: [missing]\n"
        "    healthcheck: {interval: soon}\n"
    )
    result = run(tool("composecheck"), str(broken))
    assert result.returncode == 1, result.stdout


def services() -> dict:
    """The services with the YAML anchors merged, as compose sees them."""
    return yaml.safe_load(COMPOSE.read_text())["services"]


def test_servers_and_worker_share_one_configuration():
    all_services = services()
    flipbook = {
        n: s for n, s in all_services.items() if n.startswith(("flipbook", "push", "setup"))
    }
    assert set(flipbook) == {"flipbook-1", "flipbook-2", "push", "setup"}
    environments = [s["environment"] for s in flipbook.values()]
    assert all(env == environments[0] for env in environments)
    env = environments[0]
    assert env["FLIPBOOK_DATABASE_URL"].startswith("postgres://")
    assert env["FLIPBOOK_REDIS_URL"].startswith("redis://")
    assert env["FLIPBOOK_BUS_PREFIX"]
    assert env["FLIPBOOK_PUSH_IN_SERVE"] == "false"
    assert env["FLIPBOOK_EVENT_STORE"] == "dynamodb"
    assert all_services["push"]["command"] == ["subscriptions"]


def test_health_checks_and_start_order():
    all_services = services()
    for name in ("postgres", "redis", "dynamodb", "flipbook-1", "flipbook-2", "proxy"):
        assert "test" in all_services[name]["healthcheck"], f"{name} has no health check"
    assert "/readyz" in " ".join(all_services["flipbook-1"]["healthcheck"]["test"])
    assert all_services["flipbook-1"]["depends_on"]["setup"]["condition"] == (
        "service_completed_successfully"
    )
    assert all_services["proxy"]["depends_on"]["flipbook-2"]["condition"] == "service_healthy"


def test_proxy_carries_websockets_and_grpc():
    conf = (DEPLOY / "compose" / "nginx.conf").read_text()
    assert "proxy_set_header Upgrade $http_upgrade;" in conf
    assert "grpc_pass grpc://flipbook_grpc;" in conf
    assert "http2 on;" in conf
    for server in ("flipbook-1", "flipbook-2"):
        assert f"server {server}:8000;" in conf and f"server {server}:50051;" in conf
