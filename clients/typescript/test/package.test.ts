/** The package as users get it: `npm pack` holds dist/ (JavaScript and declarations) and no
 * sources or tests, and the tarball installs into an empty project where both entry points
 * import, type-check under strict NodeNext, and talk to the real server. */

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { GRPC_TARGET, HTTP_URL, KEY, unique } from "./helpers.js";
import { PACKAGE_DIR } from "./server.js";

const work = mkdtempSync(join(tmpdir(), "flipbook-pack-"));
after(() => rmSync(work, { recursive: true, force: true }));

test("npm pack, install into an empty project, import, type-check and call the server", () => {
  const packed = JSON.parse(
    execFileSync("npm", ["pack", "--json", "--pack-destination", work], { cwd: PACKAGE_DIR, encoding: "utf8" }),
  ) as { filename: string; files: { path: string }[] }[];
  const files = packed[0]?.files.map((file) => file.path) ?? [];
  assert.ok(files.includes("dist/index.js") && files.includes("dist/index.d.ts"), "JavaScript and declarations");
  assert.ok(files.includes("dist/grpc/index.js"), "the gRPC entry point");
  assert.ok(!files.some((file) => file.startsWith("src/") || file.startsWith("test/")), "no sources or tests");
  const tarball = join(work, packed[0]?.filename ?? "");

  const project = join(work, "app");
  execFileSync("mkdir", ["-p", project]);
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", tarball], { cwd: project, stdio: ["ignore", "ignore", "inherit"] });
  assert.deepEqual(readdirSync(join(project, "node_modules/@flipbook")), ["client"]);

  const stream = unique("pack");
  writeFileSync(
    join(project, "main.ts"),
    `import { createClient, VersionConflict, type AppendResult } from "@flipbook/client";
import { createGrpcClient } from "@flipbook/client/grpc";
const [url, target, apiKey, stream] = process.argv.slice(2) as [string, string, string, string];
const rest = createClient(url, { apiKey });
const grpc = createGrpcClient(target, { apiKey });
const first: AppendResult = await rest.append(stream, [{ name: "Packed", payload: { ok: true } }], { expectedVersion: "no_stream" });
let conflict = 0;
try {
  await grpc.append(stream, [{ name: "Again" }], { expectedVersion: 0 });
} catch (error) {
  if (error instanceof VersionConflict) conflict = error.currentVersion ?? -1;
}
const latest = await grpc.latest(stream);
grpc.close();
console.log(JSON.stringify({ version: first.version, conflict, name: latest.name }));
`,
  );
  const tsc = join(PACKAGE_DIR, "node_modules/typescript/bin/tsc");
  execFileSync(
    process.execPath,
    [tsc, "--strict", "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", "--skipLibCheck",
      "--typeRoots", join(PACKAGE_DIR, "node_modules/@types"), "--types", "node", "main.ts"],
    { cwd: project, stdio: ["ignore", "inherit", "inherit"] },
  );
  const output = execFileSync(process.execPath, ["main.js", HTTP_URL, GRPC_TARGET, KEY, stream], { cwd: project, encoding: "utf8" });
  assert.deepEqual(JSON.parse(output.trim()), { version: 1, conflict: 1, name: "Packed" });
});
