// The repository's Python (its .venv, made by `make .venv/.test-installed`), or FLIPBOOK_PYTHON.
import { existsSync } from "node:fs";
import { join } from "node:path";

export function repoPython(root) {
  const python = process.env.FLIPBOOK_PYTHON ?? join(root, ".venv/bin/python");
  if (!existsSync(python)) {
    throw new Error(
      `no Python at ${python}: run \`make .venv/.test-installed\` in ${root} (or set FLIPBOOK_PYTHON)`,
    );
  }
  return python;
}
