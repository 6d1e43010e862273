"""Write standalone Kubernetes JSON schemas for kubeconform, offline.

The schemas come from the PyPI package kubernetes-validate (generated from Kubernetes' own
OpenAPI documents); there each kind's file points into a shared _definitions.json by an
absolute path kubeconform cannot follow. This copies one version's files, each with the
definitions it reaches inlined under "$defs", into kubeconform's layout:
OUT/v<version>-standalone-strict/<kind>-<group>-<version>.json.

Usage: python k8s_schemas.py KUBERNETES_VERSION OUT_DIR (run by `make deploy-tools`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

SHARED = "/api/_definitions.json#/$defs/"
LOCAL = "#/$defs/"


def rewrite(node, found: set[str]):
    """Point every reference at the file's own $defs and collect the names it uses."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith((SHARED, LOCAL)):
                name = value.split("/$defs/", 1)[1]
                found.add(name)
                out[key] = LOCAL + name
            else:
                out[key] = rewrite(value, found)
        return out
    if isinstance(node, list):
        return [rewrite(item, found) for item in node]
    return node


def standalone(schema: dict, definitions: dict) -> dict:
    needed: set[str] = set()
    result = rewrite(schema, needed)
    inlined: dict = {}
    pending = list(needed)
    while pending:
        name = pending.pop()
        if name in inlined:
            continue
        if name not in definitions:
            raise SystemExit(f"k8s_schemas: {name} is referenced but not defined")
        more: set[str] = set()
        inlined[name] = rewrite(definitions[name], more)
        pending.extend(more - inlined.keys())
    if inlined:
        result["$defs"] = inlined
    return result


def main() -> None:
    if len(sys.argv) != 3:
        raise SystemExit("usage: k8s_schemas.py KUBERNETES_VERSION OUT_DIR")
    version, out_dir = sys.argv[1].lstrip("v"), Path(sys.argv[2])
    import kubernetes_validate

    source = (
        Path(kubernetes_validate.__file__).parent
        / "kubernetes-json-schema"
        / f"v{version}-local-strict"
    )
    if not source.is_dir():
        raise SystemExit(f"k8s_schemas: kubernetes-validate has no schemas for v{version}")
    definitions = json.loads((source / "_definitions.json").read_text())["$defs"]
    target = out_dir / f"v{version}-standalone-strict"
    target.mkdir(parents=True, exist_ok=True)
    count = 0
    for path in sorted(source.glob("*.json")):
        if path.name.startswith("_") or path.name == "all.json":
            continue
        schema = standalone(json.loads(path.read_text()), definitions)
        (target / path.name).write_text(json.dumps(schema))
        count += 1
    print(f"k8s_schemas: {count} schemas for Kubernetes v{version} in {target}")


if __name__ == "__main__":
    main()
