"""deploy/Containerfile: hadolint passes, and the properties the operations docs promise hold
in the file itself (multi-stage, non-root, health check, entry point, static files)."""

from __future__ import annotations

import re

from tests.deploy.conftest import DEPLOY, ROOT, run, tool

CONTAINERFILE = DEPLOY / "Containerfile"


def test_hadolint_passes():
    result = run(tool("hadolint"), "--config", str(ROOT / ".hadolint.yaml"), str(CONTAINERFILE))
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_reports_problems(tmp_path):
    """The linter really lints: an unpinned apt install and a root user are reported."""
    bad = tmp_path / "Containerfile"
    bad.write_text("FROM debian:bookworm\nRUN apt-get update && apt-get install -y curl\n")
    result = run(tool("hadolint"), "--config", str(ROOT / ".hadolint.yaml"), str(bad))
    assert result.returncode != 0
    assert "DL3008" in result.stdout  # pin versions in apt-get install


def stages() -> list[str]:
    text = CONTAINERFILE.read_text()
    return re.split(r"^FROM ", text, flags=re.M)[1:]


def test_multi_stage_with_a_slim_debian_python_base():
    text = CONTAINERFILE.read_text()
    assert "ARG BASE_IMAGE=docker.io/library/python:3.11-slim-bookworm" in text
    build, final = stages()
    assert build.startswith("${BASE_IMAGE} AS build")
    assert final.startswith("${BASE_IMAGE}\n")
    # The final stage installs nothing: no package manager, no pip, so no compiler.
    assert "apt-get" not in final and "pip install" not in final
    assert "COPY --from=build /opt/flipbook /opt/flipbook" in final


def test_final_stage_runs_flipbook_serve_as_non_root_with_a_readyz_health_check():
    final = stages()[-1]
    assert re.search(r"^USER 10001:10001$", final, flags=re.M)
    assert 'ENTRYPOINT ["flipbook"]' in final and 'CMD ["serve"]' in final
    health = re.search(r"^HEALTHCHECK .*", final, flags=re.M | re.S)
    assert health and "/readyz" in health.group(0)
    assert "FLIPBOOK_HOST=0.0.0.0" in final


def test_static_files_are_collected_at_build_without_leaving_a_secret():
    build = stages()[0]
    assert "collectstatic --noinput" in build
    # settings.py writes var/secret_key when none is set; the build sets one and removes files.
    assert "FLIPBOOK_SECRET_KEY=collectstatic-only" in build
    assert "rm -f /var/lib/flipbook/secret_key" in build


def test_build_context_leaves_out_tests_and_local_state():
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".git", ".venv", "var", "tests", "bench", "clients/go", "clients/typescript"):
        assert entry in ignored, f".dockerignore should leave out {entry}"
    # The Python SDK stays: the server imports the gRPC code generated into it.
    for needed in ("pyproject.toml", "README.md", "flipbook_site", "static", "templates"):
        assert needed not in ignored, f".dockerignore must keep {needed}"
    assert "clients" not in ignored and "clients/python" not in ignored
