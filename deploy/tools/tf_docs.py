"""Render the inputs and outputs tables of each Terraform module's README and of
docs/operations/terraform-variables.md from variables.tf and outputs.tf.

`python deploy/tools/tf_docs.py` rewrites the part of each file between the markers;
`--check` exits 1 when one is stale (tests/deploy/test_docs.py runs that)."""

from __future__ import annotations

import sys
from pathlib import Path

import hcl2

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM = ROOT / "deploy" / "terraform"
ROOTS = [
    *sorted(p for p in (TERRAFORM / "modules").iterdir() if p.is_dir()),
    TERRAFORM / "examples" / "production",
]
DOCS = ROOT / "docs" / "operations" / "terraform-variables.md"
BEGIN, END = "<!-- BEGIN tf_docs -->", "<!-- END tf_docs -->"


def unquote(value) -> str:
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"')
    return value


def show(value) -> str:
    """A default as HCL would spell it, for a table cell."""
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if value is None:
        return "`null`"
    if isinstance(value, str):
        value = unquote(value)
        return f'`"{value}"`'
    if isinstance(value, list):
        return (
            "`["
            + ", ".join(f'"{unquote(v)}"' if isinstance(v, str) else str(v) for v in value)
            + "]`"
        )
    if isinstance(value, dict):
        return "`{}`" if not {k for k in value if k != "__is_block__"} else f"`{value}`"
    return f"`{value}`"


def cell(text: str) -> str:
    text = text.replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("|", "\\|").replace("\n", " ")


def tables(root: Path, heading: str) -> str:
    with (root / "variables.tf").open() as f:
        variables = hcl2.load(f).get("variable", [])
    with (root / "outputs.tf").open() as f:
        outputs = hcl2.load(f).get("output", [])
    lines = [
        f"{heading} Inputs",
        "",
        "| name | type | default | description |",
        "| --- | --- | --- | --- |",
    ]
    for entry in variables:
        for name, body in entry.items():
            kind = str(body.get("type", "")).removeprefix("${").removesuffix("}")
            default = show(body["default"]) if "default" in body else "required"
            description = cell(unquote(body.get("description", "")))
            lines.append(f"| `{unquote(name)}` | `{kind}` | {default} | {description} |")
    lines += ["", f"{heading} Outputs", "", "| name | description |", "| --- | --- |"]
    for entry in outputs:
        for name, body in entry.items():
            lines.append(f"| `{unquote(name)}` | {cell(unquote(body.get('description', '')))} |")
    return "\n".join(lines)


def render(path: Path, body: str) -> tuple[str, str]:
    text = path.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"tf_docs: {path} lacks the {BEGIN} / {END} markers")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return text, f"{head}{BEGIN}\n{body}\n{END}{tail}"


def main() -> None:
    check = "--check" in sys.argv[1:]
    pending: list[tuple[Path, str]] = []
    for root in ROOTS:
        pending.append((root / "README.md", tables(root, "##")))
    sections = []
    for root in ROOTS:
        title = root.relative_to(TERRAFORM)
        sections.append(f"## `{title}`\n\n" + tables(root, "###"))
    pending.append((DOCS, "\n\n".join(sections)))
    stale = []
    for path, body in pending:
        old, new = render(path, body)
        if old != new:
            stale.append(str(path.relative_to(ROOT)))
            if not check:
                path.write_text(new)
    if check and stale:
        print("tf_docs: stale, run python deploy/tools/tf_docs.py:", *stale, sep="\n  ")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
