/** A real `manage.py serve` (HTTP + WebSocket + gRPC) on free ports: a fresh SQLite database
 * in a temporary folder, or, when CI=true (or FLIPBOOK_TEST_POSTGRES=1), a fresh PostgreSQL
 * database (dropped at the end) on FLIPBOOK_TEST_POSTGRES_URL. */

import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, rmSync, existsSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const PACKAGE_DIR = resolve(import.meta.dirname, "../..");
export const REPO_ROOT = resolve(PACKAGE_DIR, "../..");
const START_MS = 90_000;

export function repoPython(): string {
  const python = process.env["FLIPBOOK_PYTHON"] ?? join(REPO_ROOT, ".venv/bin/python");
  if (!existsSync(python)) {
    throw new Error(`no Python at ${python}: run \`make .venv/.test-installed\` in ${REPO_ROOT} (or set FLIPBOOK_PYTHON)`);
  }
  return python;
}

export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => done(typeof address === "object" && address ? address.port : 0));
    });
  });
}

export interface RunningServer {
  httpUrl: string;
  grpcTarget: string;
  key: string;
  database: string;
  /** The server's environment, for management commands against the same database. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

function usePostgres(): boolean {
  return process.env["CI"] === "true" || process.env["FLIPBOOK_TEST_POSTGRES"] === "1";
}

function psql(sql: string): void {
  const url = process.env["FLIPBOOK_TEST_POSTGRES_URL"] ?? "postgres://postgres@127.0.0.1:5432/postgres";
  execFileSync("psql", [url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql], { stdio: ["ignore", "ignore", "inherit"] });
}

function postgresUrl(database: string): string {
  const base = process.env["FLIPBOOK_TEST_POSTGRES_URL"] ?? "postgres://postgres@127.0.0.1:5432/postgres";
  return base.replace(/\/[^/]*$/, `/${database}`);
}

async function waitUntilServing(process_: ChildProcess, httpUrl: string, log: string): Promise<void> {
  const deadline = Date.now() + START_MS;
  while (Date.now() < deadline) {
    if (process_.exitCode !== null) throw new Error(`serve exited: ${readFileSync(log, "utf8").slice(-3000)}`);
    try {
      const response = await fetch(`${httpUrl}/healthz`, { signal: AbortSignal.timeout(1000) });
      if (response.status === 200) return;
    } catch {
      // not up yet
    }
    await new Promise((done) => setTimeout(done, 200));
  }
  process_.kill("SIGKILL");
  throw new Error(`serve did not answer within ${START_MS} ms: ${readFileSync(log, "utf8").slice(-3000)}`);
}

export async function startServer(): Promise<RunningServer> {
  const python = repoPython();
  const varDir = mkdtempSync(join(tmpdir(), "flipbook-ts-"));
  const [httpPort, grpcPort] = [await freePort(), await freePort()];
  let database: string;
  let dropDatabase = (): void => undefined;
  if (usePostgres()) {
    const name = `test_flipbook_ts_${process.pid}`;
    psql(`DROP DATABASE IF EXISTS ${name}`);
    psql(`CREATE DATABASE ${name}`);
    database = postgresUrl(name);
    dropDatabase = () => psql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } else {
    database = `sqlite:///${join(varDir, "flipbook.sqlite3")}`;
  }
  // The embedded default: no Redis, the database event store.
  const inherited = ["FLIPBOOK_REDIS_URL", "FLIPBOOK_EVENT_STORE", "FLIPBOOK_SNAPSHOT_STORE"];
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !inherited.includes(name)));
  Object.assign(env, {
    DJANGO_SETTINGS_MODULE: "flipbook_site.settings",
    FLIPBOOK_VAR_DIR: varDir,
    FLIPBOOK_DATABASE_URL: database,
    FLIPBOOK_HTTP_PORT: String(httpPort),
    FLIPBOOK_GRPC_PORT: String(grpcPort),
    FLIPBOOK_SECRET_KEY: "ts-sdk-tests-secret-key-not-for-production",
  });
  const manage = (...args: string[]): string =>
    execFileSync(python, ["manage.py", ...args], { cwd: REPO_ROOT, env, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  manage("migrate", "--noinput");
  const key = manage("flipbook_key", "create", "ts-sdk-tests", "--scope", "admin").trim();
  // The server logs a line per request: into a file, as an unread pipe would block it.
  const log = join(varDir, "serve.log");
  const out = openSync(log, "w");
  const server = spawn(python, ["manage.py", "serve"], { cwd: REPO_ROOT, env, stdio: ["ignore", out, out] });
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  await waitUntilServing(server, httpUrl, log);
  return {
    httpUrl,
    grpcTarget: `127.0.0.1:${grpcPort}`,
    key,
    database,
    env: Object.fromEntries(
      ["DJANGO_SETTINGS_MODULE", "FLIPBOOK_VAR_DIR", "FLIPBOOK_DATABASE_URL", "FLIPBOOK_SECRET_KEY"].map((name) => [name, String(env[name])]),
    ),
    async stop() {
      if (server.exitCode === null) {
        const exited = new Promise((done) => server.once("exit", done));
        server.kill("SIGTERM");
        const timer = setTimeout(() => server.kill("SIGKILL"), 20_000);
        await exited;
        clearTimeout(timer);
      }
      try {
        dropDatabase();
      } finally {
        rmSync(varDir, { recursive: true, force: true });
      }
    },
  };
}
