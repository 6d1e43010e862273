"""The Terraform under deploy/terraform: it parses, is formatted, passes checkov, every module
has the files and typed, described variables of terraform-aws-modules, and the DynamoDB table
and IAM policy match what the backend creates and calls (imported from it, never copied)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import hcl2
import pytest

from streams.backends import dynamodb as backend
from tests.deploy.conftest import TERRAFORM, run, tool

MODULES = sorted(p for p in (TERRAFORM / "modules").iterdir() if p.is_dir())
ROOTS = [*MODULES, TERRAFORM / "examples" / "production"]
TF_FILES = sorted(TERRAFORM.rglob("*.tf"))


def load(path: Path) -> dict:
    with path.open() as f:
        return hcl2.load(f)


def unquote(value):
    """python-hcl2 keeps string literals' quotes; drop them (expressions stay ${...})."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def blocks(parsed: dict, kind: str) -> dict[tuple[str, str], dict]:
    """{(type, name): body} of the file's resource or data blocks."""
    found = {}
    for entry in parsed.get(kind, []):
        for rtype, named in entry.items():
            for name, body in named.items():
                found[(unquote(rtype), unquote(name))] = body
    return found


def test_the_module_set_is_the_one_documented():
    assert [m.name for m in MODULES] == [
        "dynamodb",
        "ecs_service",
        "elasticache",
        "metadata_db",
        "network",
    ]


@pytest.mark.parametrize("path", TF_FILES, ids=lambda p: str(p.relative_to(TERRAFORM)))
def test_every_file_parses(path):
    parsed = load(path)
    assert parsed, f"{path} parsed to nothing"


@pytest.mark.parametrize("root", ROOTS, ids=lambda p: p.name)
def test_module_layout_and_typed_described_variables(root):
    for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"):
        assert (root / name).is_file(), f"{root.name} lacks {name}"
    variables = load(root / "variables.tf").get("variable", [])
    assert variables, f"{root.name} declares no variables"
    for entry in variables:
        for name, body in entry.items():
            assert "type" in body, f"{root.name}: variable {name} has no type"
            assert unquote(body.get("description", "")), f"{root.name}: {name} has no description"
    for entry in load(root / "outputs.tf").get("output", []):
        for name, body in entry.items():
            assert unquote(body.get("description", "")), f"{root.name}: output {name} undescribed"
    readme = (root / "README.md").read_text()
    for entry in variables:
        for name in entry:
            assert f"`{unquote(name)}`" in readme, f"{root.name}/README.md omits {name}"


def test_modules_validate_names_and_key_arns():
    """Inputs that would fail late at apply time are refused at plan time."""
    for root in MODULES:
        for entry in load(root / "variables.tf").get("variable", []):
            for name, body in entry.items():
                if unquote(name) in {"name", "kms_key_arn"}:
                    assert body.get("validation"), f"{root.name}: {name} is not validated"


# -- the DynamoDB table against the backend's own definition ----------------------------------


def terraform_table() -> tuple[str, dict]:
    """The table of modules/dynamodb as CreateTable arguments (the backend's shape)."""
    parsed = load(TERRAFORM / "modules" / "dynamodb" / "main.tf")
    table = blocks(parsed, "resource")[("aws_dynamodb_table", "events")]
    local_name = unquote(parsed["locals"][0]["table_name"])
    assert table["name"] == "${local.table_name}"

    def key_schema(hash_key: str, range_key: str) -> list[dict]:
        return [
            {"AttributeName": unquote(hash_key), "KeyType": "HASH"},
            {"AttributeName": unquote(range_key), "KeyType": "RANGE"},
        ]

    definition = {
        "BillingMode": unquote(table["billing_mode"]),
        "AttributeDefinitions": [
            {"AttributeName": unquote(a["name"]), "AttributeType": unquote(a["type"])}
            for a in table["attribute"]
        ],
        "KeySchema": key_schema(table["hash_key"], table["range_key"]),
        "LocalSecondaryIndexes": [
            {
                "IndexName": unquote(i["name"]),
                # An LSI shares the table's partition key; Terraform names only the sort key.
                "KeySchema": key_schema(table["hash_key"], i["range_key"]),
                "Projection": {"ProjectionType": unquote(i["projection_type"])},
            }
            for i in table.get("local_secondary_index", [])
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": unquote(i["name"]),
                "KeySchema": key_schema(i["hash_key"], i["range_key"]),
                "Projection": {"ProjectionType": unquote(i["projection_type"])},
            }
            for i in table.get("global_secondary_index", [])
        ],
    }
    return local_name, definition, table


def test_dynamodb_table_equals_the_backends_definition():
    name_expression, definition, _ = terraform_table()
    expected = backend.table_definition("PREFIX_events")
    assert expected.pop("TableName") == "PREFIX_events"
    by_name = lambda items: sorted(items, key=lambda i: i.get("IndexName", i.get("AttributeName")))  # noqa: E731
    for key in ("AttributeDefinitions", "LocalSecondaryIndexes", "GlobalSecondaryIndexes"):
        expected[key] = by_name(expected.get(key, []))
        definition[key] = by_name(definition[key])
    assert definition == expected
    # The table is <table_prefix>events, as the backend names it from its table_prefix option.
    assert name_expression == "${var.table_prefix}events"
    store = backend.DynamoDBEventStore(table_prefix="PREFIX_", client=object())
    assert store.table == "PREFIX_events"


def test_dynamodb_table_is_protected():
    _, _, table = terraform_table()
    assert table["point_in_time_recovery"][0]["enabled"] is True
    sse = table["server_side_encryption"][0]
    assert sse["enabled"] is True and sse["kms_key_arn"] == "${var.kms_key_arn}"
    assert table["deletion_protection_enabled"] == "${var.deletion_protection}"


def backend_operations() -> set[str]:
    """DynamoDB operations the backend calls while serving (not table management), and the
    item actions inside its TransactWriteItems, as IAM actions."""
    package = Path(backend.__file__).parent  # the backend is a package: read every module
    trees = [ast.parse(path.read_text()) for path in sorted(package.glob("*.py"))]
    operations: set[str] = set()
    transact_items: set[str] = set()
    for node in (node for tree in trees for node in ast.walk(tree)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "_call"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            operations.add(node.args[0].value)
        if isinstance(node, ast.Dict):
            for key in node.keys:
                if isinstance(key, ast.Constant) and key.value in {
                    "Put",
                    "Update",
                    "Delete",
                    "ConditionCheck",
                }:
                    transact_items.add(key.value)
    management = {"create_table", "delete_table", "describe_table"}
    assert management <= operations, "the backend's table management calls moved"
    serving = operations - management
    assert "transact_write_items" in serving
    # IAM authorises each item of a TransactWriteItems by its own action.
    serving.discard("transact_write_items")
    actions = {"".join(part.title() for part in op.split("_")) for op in serving}
    item_actions = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem"}
    actions |= {item_actions.get(i, "ConditionCheckItem") for i in transact_items}
    return {f"dynamodb:{a}" for a in actions}


def test_iam_policy_grants_exactly_the_backends_actions_on_its_table_only():
    parsed = load(TERRAFORM / "modules" / "dynamodb" / "main.tf")
    document = blocks(parsed, "data")[("aws_iam_policy_document", "access")]
    statements = {unquote(s["sid"]): s for s in document["statement"]}
    table = statements["FlipbookEventStore"]
    assert {unquote(a) for a in table["actions"]} == backend_operations()
    assert {unquote(r) for r in table["resources"]} == {
        "${aws_dynamodb_table.events.arn}",
        "${aws_dynamodb_table.events.arn}/index/*",
    }
    key = statements["FlipbookEventStoreKey"]
    assert [unquote(r) for r in key["resources"]] == ["${var.kms_key_arn}"]
    assert not any(unquote(r) == "*" for s in document["statement"] for r in s["resources"])


def test_servers_get_the_table_prefix_and_scale_out_settings():
    """The ECS tasks use the dynamodb module's prefix, a bus prefix, and no push in serve."""
    parsed = load(TERRAFORM / "modules" / "ecs_service" / "main.tf")
    env = parsed["locals"][0]["base_environment"]
    assert env["FLIPBOOK_DYNAMODB_TABLE_PREFIX"] == "${var.dynamodb_table_prefix}"
    assert env["FLIPBOOK_EVENT_STORE"] == '"dynamodb"'
    assert env["FLIPBOOK_BUS_PREFIX"] == "${var.bus_prefix}"
    assert env["FLIPBOOK_PUSH_IN_SERVE"] == '"false"'
    secrets = parsed["locals"][0]["secrets"]
    for name in ("FLIPBOOK_SECRET_KEY", "FLIPBOOK_DATABASE_URL", "FLIPBOOK_REDIS_URL"):
        assert name in secrets
    example = load(TERRAFORM / "examples" / "production" / "main.tf")
    modules = {unquote(name): body for m in example["module"] for name, body in m.items()}
    app = modules["app"]
    assert app["dynamodb_table_prefix"] == "${module.dynamodb.table_prefix}"
    assert app["task_policy_arns"] == ["${module.dynamodb.access_policy_arn}"]


# -- formatting and checkov -------------------------------------------------------------------


def test_terraform_is_formatted(tmp_path):
    """hclfmt (HCL's canonical formatter, as `tofu fmt` applies it) prints each file as it
    would format it; a file that differs is unformatted. (Its -check flag is syntax only.)"""
    hclfmt = tool("hclfmt")

    def formatted(path: Path) -> bool:
        result = run(hclfmt, str(path))
        assert result.returncode == 0, result.stderr
        return result.stdout == path.read_text()

    unformatted = [str(p.relative_to(TERRAFORM)) for p in TF_FILES if not formatted(p)]
    assert not unformatted, f"run `var/tools/bin/hclfmt -w` (or tofu fmt) on: {unformatted}"
    # The comparison can fail: a misaligned file is reported.
    sample = tmp_path / "bad.tf"
    sample.write_text('resource "a" "b" {\n  x = 1\n  longer_name = 2\n}\n')
    assert not formatted(sample)


def test_checkov_finds_no_failed_check():
    checkov = tool("checkov")
    result = run(
        checkov,
        "--directory",
        str(TERRAFORM),
        "--framework",
        "terraform",
        "--output",
        "json",
        "--quiet",
        "--skip-download",
        timeout=600,
    )
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']})"
        for r in reports
        for c in r.get("results", {}).get("failed_checks", [])
    ]
    assert not failed, "checkov failed checks:\n" + "\n".join(failed)
    passed = sum(r.get("summary", {}).get("passed", 0) for r in reports)
    assert passed > 100, f"checkov ran only {passed} checks"
    assert result.returncode == 0, result.stderr[-2000:]


def test_every_checkov_suppression_is_justified():
    pattern = re.compile(r"#checkov:skip=([A-Z0-9_]+)(:?)(.*)")
    for path in TF_FILES:
        for line in path.read_text().splitlines():
            match = pattern.search(line)
            if match:
                assert match.group(2) == ":" and len(match.group(3).strip()) > 20, (
                    f"{path.name}: {match.group(1)} is skipped without a reason"
                )
