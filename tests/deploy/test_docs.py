"""The operations docs: the Terraform variable tables are current, and the pages link."""

from __future__ import annotations

import re
import sys

from tests.deploy.conftest import ROOT, run

OPERATIONS = ROOT / "docs" / "operations"
# Reference pages the docs hooks generate at build time (docs/hooks/server_reference.py,
# grpc_reference.py): no file until `make docs` runs.
GENERATED = {"reference/rest.md", "reference/grpc.md", "reference/cli.md", "reference/settings.md"}


def test_terraform_variable_tables_are_current():
    result = run(sys.executable, str(ROOT / "deploy" / "tools" / "tf_docs.py"), "--check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_operations_pages_exist_and_local_links_resolve():
    pages = {p.name for p in OPERATIONS.glob("*.md")}
    for needed in (
        "aws.md",
        "scale-out.md",
        "sizing.md",
        "backups.md",
        "upgrades.md",
        "terraform-variables.md",
        "kubernetes.md",
        "compose.md",
    ):
        assert needed in pages
    for page in OPERATIONS.glob("*.md"):
        for target in re.findall(r"\]\(([^)#:]+\.md)\)", page.read_text()):
            if target.startswith("../reference/") and target.removeprefix("../") in GENERATED:
                continue  # made by docs/hooks at build time; the strict build checks them
            assert (OPERATIONS / target).exists(), f"{page.name} links to missing {target}"


def test_scale_out_requirements_are_all_written_down():
    text = (OPERATIONS / "scale-out.md").read_text()
    for setting in (
        "FLIPBOOK_DATABASE_URL",
        "FLIPBOOK_SECRET_KEY",
        "FLIPBOOK_BUS_PREFIX",
        "FLIPBOOK_PUSH_IN_SERVE",
        "flipbook subscriptions",
        "FLIPBOOK_REDIS_URL",
    ):
        assert setting in text
