// Regenerates the code made from the server's contracts: src/generated/openapi.ts (types of
// REST v1, from the OpenAPI schema the server renders) and src/generated/flipbook/v1/*.ts
// (gRPC messages and grpc-js clients, from proto/flipbook/v1/eventstore.proto, by ts-proto).
// `--check` regenerates into a temporary folder and fails when the checked-in copy differs.
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { openapiTypes } from "./openapi-types.mjs";
import { repoPython } from "./python.mjs";

const PACKAGE = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const ROOT = resolve(PACKAGE, "../..");
const GENERATED = join(PACKAGE, "src/generated");
const check = process.argv.includes("--check");

function renderedSchema(python) {
  const work = mkdtempSync(join(tmpdir(), "flipbook-schema-"));
  try {
    const file = join(work, "openapi.json");
    execFileSync(python, ["manage.py", "spectacular", "--format", "openapi-json", "--file", file], {
      cwd: ROOT,
      env: {
        ...process.env,
        DJANGO_SETTINGS_MODULE: "flipbook_site.settings",
        FLIPBOOK_VAR_DIR: work,
        FLIPBOOK_DATABASE_URL: `sqlite:///${join(work, "schema.sqlite3")}`,
        FLIPBOOK_SECRET_KEY: "schema-generation-only",
      },
      stdio: ["ignore", "ignore", "inherit"],
    });
    return JSON.parse(readFileSync(file, "utf8"));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function generateProto(python, out) {
  const include = execFileSync(python, [
    "-c",
    "import grpc_tools, os; print(os.path.join(os.path.dirname(grpc_tools.__file__), '_proto'))",
  ])
    .toString()
    .trim();
  const plugin = join(PACKAGE, "node_modules/.bin/protoc-gen-ts_proto");
  execFileSync(
    python,
    [
      "-m",
      "grpc_tools.protoc",
      `--plugin=protoc-gen-ts_proto=${plugin}`,
      `--ts_proto_out=${out}`,
      "--ts_proto_opt=outputServices=grpc-js,esModuleInterop=true,importSuffix=.js,env=node,useDate=false,forceLong=number,useOptionals=none,outputIndex=false",
      `-I${join(ROOT, "proto")}`,
      `-I${include}`,
      join(ROOT, "proto/flipbook/v1/eventstore.proto"),
    ],
    { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"] },
  );
}

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

async function generate(out) {
  const python = repoPython(ROOT);
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, "openapi.ts"), await openapiTypes(renderedSchema(python)));
  generateProto(python, out);
}

if (check) {
  const out = mkdtempSync(join(tmpdir(), "flipbook-generated-"));
  try {
    await generate(out);
    const fresh = files(out).map((path) => relative(out, path)).sort();
    const current = files(GENERATED).map((path) => relative(GENERATED, path)).sort();
    const stale = [...new Set([...fresh, ...current])].filter(
      (name) =>
        !fresh.includes(name) ||
        !current.includes(name) ||
        readFileSync(join(out, name), "utf8") !== readFileSync(join(GENERATED, name), "utf8"),
    );
    if (stale.length > 0) {
      console.error(`stale generated code in src/generated: ${stale.join(", ")}; run npm run generate`);
      process.exit(1);
    }
    console.log("src/generated is up to date with the OpenAPI schema and the .proto");
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
} else {
  const out = mkdtempSync(join(tmpdir(), "flipbook-generated-"));
  await generate(out);
  rmSync(GENERATED, { recursive: true, force: true });
  cpSync(out, GENERATED, { recursive: true });
  rmSync(out, { recursive: true, force: true });
  console.log(`generated ${files(GENERATED).map((path) => relative(PACKAGE, path)).join(", ")}`);
}
