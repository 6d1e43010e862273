/** The generated code cannot drift from the server: src/generated matches what the server's
 * OpenAPI schema and the .proto generate now, and the schema the running server serves. */

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { HTTP_URL, KEY } from "./helpers.js";
import { PACKAGE_DIR } from "./server.js";

test("src/generated is what `npm run generate` makes from the schema and the .proto", () => {
  const output = execFileSync(process.execPath, [join(PACKAGE_DIR, "scripts/generate.mjs"), "--check"], {
    cwd: PACKAGE_DIR,
    encoding: "utf8",
  });
  assert.match(output, /up to date/);
});

test("the OpenAPI types match the schema the running server serves", async () => {
  const response = await fetch(`${HTTP_URL}/api/v1/schema/?format=json`, { headers: { Authorization: `Bearer ${KEY}`, Accept: "application/json" } });
  assert.equal(response.status, 200);
  const schema: unknown = await response.json();
  const { openapiTypes } = (await import(join(PACKAGE_DIR, "scripts/openapi-types.mjs"))) as { openapiTypes: (schema: unknown) => Promise<string> };
  const served = await openapiTypes(schema);
  assert.equal(served, readFileSync(join(PACKAGE_DIR, "src/generated/openapi.ts"), "utf8"));
});
