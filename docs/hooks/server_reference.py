"""MkDocs hook: the REST API and CLI reference pages, generated from the server at build time.

server_facts.py runs in a subprocess (Django set up apart from MkDocs, with every FLIPBOOK_*
variable cleared so the pages show the defaults) and returns the OpenAPI schema as
`manage.py spectacular` writes it and the help of Flipbook's management commands. This hook
renders them as Markdown pages (no JavaScript, no CDN: the site works offline) and ships the
schema itself as reference/openapi.json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

HERE = Path(__file__).resolve().parent
REST_PAGE = "reference/rest.md"
CLI_PAGE = "reference/cli.md"
SETTINGS_PAGE = "reference/settings.md"
SCHEMA_FILE = "reference/openapi.json"
# Tag order on the page; tags the schema adds later are appended in their own order.
TAG_ORDER = ("streams", "events", "state", "snapshots", "subscriptions")
TAG_TITLES = {
    "streams": "Streams",
    "events": "Events and commits",
    "state": "State",
    "snapshots": "Snapshots",
    "subscriptions": "Durable subscriptions",
}
HTTP_METHODS = ("get", "post", "put", "patch", "delete")


def server_facts() -> dict[str, Any]:
    """Run server_facts.py with the interpreter running MkDocs (the project's venv)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLIPBOOK_")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env["COLUMNS"] = "90"  # argparse wraps its help to this width
    with tempfile.TemporaryDirectory(prefix="flipbook-docs-") as var_dir:
        env["FLIPBOOK_VAR_DIR"] = var_dir  # the settings write a secret key there
        done = subprocess.run(
            [sys.executable, str(HERE / "server_facts.py")],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    if done.returncode != 0:
        raise PluginError(
            "docs/hooks/server_facts.py failed (is the project installed? `make docs` "
            f"installs it):\n{done.stderr[-4000:]}"
        )
    return json.loads(done.stdout)


def on_files(files: Files, config: Any) -> Files:
    facts = server_facts()
    schema = facts["openapi"]
    files.append(File.generated(config, REST_PAGE, content=render_rest(schema)))
    files.append(File.generated(config, SCHEMA_FILE, content=json.dumps(schema, indent=2) + "\n"))
    files.append(File.generated(config, CLI_PAGE, content=render_cli(facts["commands"])))
    files.append(File.generated(config, SETTINGS_PAGE, content=render_settings(facts["settings"])))
    return files


def render_settings(table: dict[str, Any]) -> str:
    """The Django settings reference, from the one settings object (streams/conf.py)."""
    lines = [
        "# Django settings",
        "",
        "Every `FLIPBOOK_*` Django setting, generated from `streams/conf.py` when the site is",
        "built. Most deployments set them through environment variables "
        "([Settings](../operations/settings.md)); a settings module of your own may set them",
        "directly. A dict setting is merged key by key over its defaults, so give only the keys",
        "to change; an unknown key or a value of the wrong type fails `manage.py check` with",
        "the id `flipbook.E00x` and a hint.",
        "",
        "## Plain settings",
        "",
        "| setting | default | meaning |",
        "| --- | --- | --- |",
    ]
    lines += [f"| `{n}` | `{d}` | {cell(t)} |" for n, d, t in table["plain"]]
    lines += [
        "",
        "## Backends",
        "",
        "Shaped like Django's `CACHES`: a dotted `BACKEND` path and "
        "`OPTIONS` passed to its constructor; an option it does not take is refused.",
        "",
    ]
    lines += [f"- `{name}`, default `{default}`" for name, default in table["backends"].items()]
    for name, rows in table["dicts"].items():
        lines += ["", f"## {name}", "", "| key | default | meaning |", "| --- | --- | --- |"]
        lines += [f"| `{k}` | `{d}` | {cell(t)} |" for k, d, t in rows]
    return "\n".join(lines) + "\n"


# -- REST ---------------------------------------------------------------------------------------


def cell(text: Any) -> str:
    """Text made safe for one Markdown table cell."""
    text = str(text).strip()
    return text.replace("|", "\\|").replace("\n\n", "<br>").replace("\n", " ")


def schema_anchor(name: str) -> str:
    return f"schema-{name.lower()}"


def ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def type_of(schema: dict[str, Any]) -> str:
    """A short Markdown description of a schema's type, linking named schemas."""
    if "$ref" in schema:
        name = ref_name(schema["$ref"])
        return f"[{name}](#{schema_anchor(name)})"
    for combiner, word in (("oneOf", " or "), ("anyOf", " or "), ("allOf", " and ")):
        if combiner in schema:
            parts = [type_of(s) for s in schema[combiner] if s.get("enum") != [None]]
            text = word.join(parts)
            if any(s.get("enum") == [None] for s in schema[combiner]):
                text += " or null"
            return text
    kind = schema.get("type")
    if "enum" in schema:
        values = ", ".join(f"`{json.dumps(v)}`" for v in schema["enum"])
        text = f"one of {values}"
    elif kind == "array":
        text = f"array of {type_of(schema.get('items', {}))}"
    elif kind == "object" and "properties" not in schema:
        text = "object"
    elif kind:
        text = kind
        if "format" in schema:
            text += f" ({schema['format']})"
    else:
        text = "any JSON value"
    if schema.get("nullable"):
        text += ", nullable"
    return text


def constraints(schema: dict[str, Any]) -> str:
    """Bounds and defaults worth a reader's eye."""
    notes = []
    for key, label in (
        ("minimum", "min"),
        ("maximum", "max"),
        ("minLength", "min length"),
        ("maxLength", "max length"),
        ("minItems", "min items"),
        ("maxItems", "max items"),
    ):
        if key in schema:
            notes.append(f"{label} {schema[key]}")
    if "default" in schema:
        notes.append(f"default `{json.dumps(schema['default'])}`")
    return "; ".join(notes)


def describe(schema: dict[str, Any], description: str = "") -> str:
    text = description or schema.get("description", "")
    extra = constraints(schema)
    if extra:
        text = f"{text} ({extra})" if text else extra
    return cell(text)


def render_operation(path: str, method: str, op: dict[str, Any]) -> list[str]:
    out = [
        f"### {op.get('summary') or op['operationId']} {{#{op['operationId']}}}",
        "",
        f"`{method.upper()} {path}`",
        "",
    ]
    if op.get("description"):
        out += [op["description"], ""]
    params = op.get("parameters", [])
    if params:
        out += [
            "| parameter | in | type | required | description |",
            "| --- | --- | --- | --- | --- |",
        ]
        for p in sorted(params, key=lambda p: (p["in"] != "path", p["name"])):
            schema = p.get("schema", {})
            required = "yes" if p.get("required") else "no"
            description = describe(schema, p.get("description", ""))
            kind = cell(type_of(schema))
            out.append(f"| `{p['name']}` | {p['in']} | {kind} | {required} | {description} |")
        out.append("")
    body = op.get("requestBody")
    if body:
        kinds = ", ".join(
            f"{type_of(media.get('schema', {}))} as `{media_type}`"
            for media_type, media in body.get("content", {}).items()
        )
        required = " (required)" if body.get("required") else ""
        out += [f"**Request body**{required}: {kinds}", ""]
    out += ["| status | body | meaning |", "| --- | --- | --- |"]
    for status, response in op.get("responses", {}).items():
        content = response.get("content", {})
        bodies = "<br>".join(
            f"{type_of(media.get('schema', {}))} (`{media_type}`)"
            for media_type, media in content.items()
        )
        out.append(f"| {status} | {bodies or 'none'} | {cell(response.get('description', ''))} |")
    out.append("")
    return out


def render_schema(name: str, schema: dict[str, Any]) -> list[str]:
    out = [f"### {name} {{#{schema_anchor(name)}}}", ""]
    if schema.get("description") and "properties" in schema:
        out += [schema["description"], ""]
    properties = schema.get("properties")
    if properties:
        required = set(schema.get("required", []))
        out += ["| field | type | required | description |", "| --- | --- | --- | --- |"]
        for field, field_schema in properties.items():
            out.append(
                f"| `{field}` | {cell(type_of(field_schema))} | "
                f"{'yes' if field in required else 'no'} | {describe(field_schema)} |"
            )
        if schema.get("additionalProperties") is False:
            out += ["", "Other fields are refused (`validation_error`)."]
    else:
        out.append(f"{cell(type_of({k: v for k, v in schema.items() if k != 'description'}))}.")
        if schema.get("description"):
            out += ["", schema["description"]]
    out.append("")
    return out


def render_rest(schema: dict[str, Any]) -> str:
    info = schema["info"]
    out = [
        "# REST API reference",
        "",
        "<!-- Generated at build time from the server's OpenAPI schema "
        "(docs/hooks/server_reference.py). Do not edit. -->",
        "",
        f"{info['title']}, version {info['version']} (OpenAPI {schema['openapi']}). "
        f"{info.get('description', '')}",
        "",
        "This page is generated from the schema when the documentation is built, so it "
        "matches the code. The schema itself: [openapi.json](openapi.json); a running server "
        "also serves it at `/api/v1/schema/` with browsable docs at `/api/v1/docs/` "
        "(Swagger UI) and `/api/v1/redoc/`, both working offline.",
        "",
    ]
    schemes = schema.get("components", {}).get("securitySchemes", {})
    if schemes:
        out += ["## Authentication", ""]
        for name, scheme in schemes.items():
            kind = scheme.get("type")
            if kind == "http":
                kind = f"HTTP `{scheme.get('scheme', '')}`"
            out += [f"- `{name}`: {kind}. {scheme.get('description', '')}"]
        out.append("")

    by_tag: dict[str, list[tuple[str, str, dict]]] = {}
    for path, item in schema["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                op = item[method]
                tag = (op.get("tags") or ["other"])[0]
                by_tag.setdefault(tag, []).append((path, method, op))
    tags = [t for t in TAG_ORDER if t in by_tag] + [t for t in by_tag if t not in TAG_ORDER]

    out += ["## Operations", "", "| method and path | does |", "| --- | --- |"]
    for tag in tags:
        for path, method, op in by_tag[tag]:
            link = f"[`{method.upper()} {path}`](#{op['operationId']})"
            out.append(f"| {link} | {cell(op.get('summary', ''))} |")
    out.append("")
    for tag in tags:
        out += [f"## {TAG_TITLES.get(tag, tag.title())}", ""]
        for path, method, op in by_tag[tag]:
            out += render_operation(path, method, op)

    out += ["## Schemas", ""]
    for name, component in sorted(schema.get("components", {}).get("schemas", {}).items()):
        out += render_schema(name, component)
    return "\n".join(out)


# -- CLI ----------------------------------------------------------------------------------------


def render_cli(commands: dict[str, Any]) -> str:
    out = [
        "# Command line reference",
        "",
        "<!-- Generated at build time from the management commands' own argument parsers "
        "(docs/hooks/server_reference.py). Do not edit. -->",
        "",
        "Flipbook's commands run as `flipbook COMMAND` (the console script the package "
        "installs) or as `python manage.py COMMAND` from a checkout; both read the same "
        "`FLIPBOOK_*` [settings](../operations/settings.md). Django's own commands "
        "(`migrate`, `createsuperuser`, `spectacular`, ...) work the same way.",
        "",
        "| command | does |",
        "| --- | --- |",
    ]
    for name, command in commands.items():
        out.append(f"| [`{name}`](#{name}) | {cell(command['summary'].splitlines()[0])} |")
    out.append("")
    for name, command in commands.items():
        out += [f"## `{name}` {{#{name}}}", "", "```text", command["help"].rstrip(), "```", ""]
        for sub_name, sub_help in command["subcommands"].items():
            out += [f"### `{name} {sub_name}`", "", "```text", sub_help.rstrip(), "```", ""]
    out += [
        "## Options of every command",
        "",
        "Every command also takes Django's common options: `--settings`, `--pythonpath`, "
        "`--verbosity {0,1,2,3}`, `--traceback`, `--no-color`, `--force-color`, "
        "`--skip-checks`, `--version` and `-h`/`--help`.",
        "",
    ]
    return "\n".join(out)
