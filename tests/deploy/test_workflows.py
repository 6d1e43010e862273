"""The GitHub Actions workflows pass actionlint (with shellcheck on their run: scripts), and
the deploy scripts pass shellcheck."""

from __future__ import annotations

import yaml

from tests.deploy.conftest import DEPLOY, ROOT, run, tool

WORKFLOWS = ROOT / ".github" / "workflows"


def test_actionlint_passes():
    shellcheck = tool("shellcheck")
    files = sorted(str(p) for p in WORKFLOWS.glob("*.yml"))
    assert len(files) == 3
    result = run(tool("actionlint"), "-no-color", "-shellcheck", shellcheck, *files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_reports_problems(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n"
        "    steps:\n      - run: echo ${{ github.nope }}\n"
    )
    result = run(tool("actionlint"), "-no-color", str(bad))
    assert result.returncode != 0 and "nope" in result.stdout


def test_ci_runs_the_readme_test_command_with_service_containers():
    ci = yaml.safe_load((WORKFLOWS / "ci.yml").read_text())
    job = ci["jobs"]["test"]
    assert {"postgres", "redis", "dynamodb"} <= set(job["services"])
    assert any(step.get("run") == "make test" for step in job["steps"])
    image = yaml.safe_load((WORKFLOWS / "image.yml").read_text())
    steps = image["jobs"]["image"]["steps"]
    assert any("image-smoke.sh" in step.get("run", "") for step in steps)
    pushes = [s for s in steps if s.get("with", {}).get("push") is True]
    assert pushes and all(s["if"] == "startsWith(github.ref, 'refs/tags/v')" for s in pushes)
    docs = yaml.safe_load((WORKFLOWS / "docs.yml").read_text())
    assert any(step.get("run") == "make docs" for step in docs["jobs"]["docs"]["steps"])


def test_deploy_scripts_pass_shellcheck():
    scripts = [str(DEPLOY / "image.sh"), str(DEPLOY / "image-smoke.sh")]
    result = run(tool("shellcheck"), *scripts)
    assert result.returncode == 0, result.stdout
