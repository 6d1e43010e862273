/** `npm test`: start one real Flipbook server, then run every test file against it with
 * node's test runner (FLIPBOOK_TEST_HTTP_URL, FLIPBOOK_TEST_GRPC_TARGET, FLIPBOOK_TEST_KEY). */

import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { startServer } from "./server.js";

const server = await startServer();
console.log(`flipbook serve on ${server.httpUrl} and ${server.grpcTarget} (${server.database.split(":")[0]})`);
const files = readdirSync(import.meta.dirname)
  .filter((name) => name.endsWith(".test.js"))
  .filter((name) => process.argv.length <= 2 || process.argv.slice(2).some((want) => name.includes(want)))
  .map((name) => join(import.meta.dirname, name));
let code: number;
try {
  code = await new Promise<number>((done) => {
    const child = spawn(process.execPath, ["--test", "--test-concurrency=1", ...files], {
      stdio: "inherit",
      env: {
        ...process.env,
        FLIPBOOK_TEST_HTTP_URL: server.httpUrl,
        FLIPBOOK_TEST_GRPC_TARGET: server.grpcTarget,
        FLIPBOOK_TEST_KEY: server.key,
        FLIPBOOK_TEST_SERVER_ENV: JSON.stringify(server.env),
      },
    });
    child.on("exit", (status) => done(status ?? 1));
  });
} finally {
  await server.stop();
}
process.exit(code);
