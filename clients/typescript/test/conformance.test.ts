/** The shared conformance vectors (clients/conformance/vectors/*.json, format in its README)
 * plus this package's own (test/vectors/*.json), over REST and gRPC, against the real server. */

import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { type Client, FlipbookError, VersionConflict } from "../src/index.js";
import type { Event, ExpectedVersion, NewEvent, StreamAppend } from "../src/index.js";
import { PACKAGE_DIR, REPO_ROOT } from "./server.js";
import { TRANSPORTS, clientOf, unique } from "./helpers.js";

type Step = Record<string, unknown> & { op: string; expect?: Record<string, unknown>; expect_error?: Record<string, unknown> };
interface Vector {
  name: string;
  description?: string;
  steps: Step[];
}

const FOLDERS = [join(REPO_ROOT, "clients/conformance/vectors"), join(PACKAGE_DIR, "test/vectors")];

function vectors(): { file: string; vector: Vector }[] {
  return FOLDERS.flatMap((folder) =>
    readdirSync(folder)
      .filter((name) => name.endsWith(".json"))
      .sort()
      .map((name) => ({ file: join(folder, name), vector: JSON.parse(readFileSync(join(folder, name), "utf8")) as Vector })),
  );
}

/** Replace {run} and {uuid:LABEL} (a random UUID made once per run and label, see
 * clients/conformance/README.md) in every string of a JSON value. */
function substitute<T>(value: T, run: string, ids: Map<string, string>): T {
  if (typeof value === "string") {
    return value
      .replaceAll("{run}", run)
      .replace(/\{uuid:([A-Za-z0-9_-]+)\}/g, (_whole, label: string) => {
        if (!ids.has(label)) ids.set(label, globalThis.crypto.randomUUID());
        return ids.get(label) as string;
      }) as T;
  }
  if (Array.isArray(value)) return value.map((item: unknown) => substitute(item, run, ids)) as T;
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, substitute(item, run, ids)])) as T;
  }
  return value;
}

function newEvents(value: unknown): NewEvent[] {
  assert.ok(Array.isArray(value), "events must be a list");
  return value.map((raw: Record<string, unknown>) => {
    const event: NewEvent = { name: String(raw["name"]), payload: raw["payload"] ?? null };
    if (raw["metadata"] !== undefined) event.metadata = raw["metadata"] as Record<string, unknown>;
    if (raw["timestamp"] !== undefined && raw["timestamp"] !== null) event.timestamp = raw["timestamp"] as string;
    if (raw["id"] !== undefined) event.id = raw["id"] as string;
    if (raw["version"] !== undefined) event.version = Number(raw["version"]);
    return event;
  });
}

function expected(value: unknown): ExpectedVersion {
  if (value === undefined) return "any";
  if (typeof value === "number" || value === "any" || value === "exists" || value === "no_stream") return value;
  throw new Error(`bad expected_version ${JSON.stringify(value)}`);
}

function eventsResult(events: Event[]): Record<string, unknown> {
  return {
    versions: events.map((event) => event.version),
    names: events.map((event) => event.name),
    payloads: events.map((event) => event.payload),
    ids: events.map((event) => event.id),
    count: events.length,
  };
}

async function perform(client: Client, step: Step): Promise<Record<string, unknown>> {
  const stream = step["stream"] as string;
  switch (step.op) {
    case "append": {
      const result = await client.append(stream, newEvents(step["events"]), {
        expectedVersion: expected(step["expected_version"]),
        ...(step["category"] !== undefined ? { category: step["category"] as string } : {}),
        ...(step["kind"] !== undefined ? { kind: step["kind"] as "versioned" | "neutral" } : {}),
      });
      return {
        first_version: result.firstVersion,
        last_version: result.lastVersion,
        duplicate: result.duplicate,
        count: result.events.length,
      };
    }
    case "commit": {
      const appends = (step["appends"] as Record<string, unknown>[]).map((raw): StreamAppend => {
        const append: StreamAppend = { streamId: raw["stream"] as string, events: newEvents(raw["events"]), expectedVersion: expected(raw["expected_version"]) };
        if (raw["category"] !== undefined) append.category = raw["category"] as string;
        return append;
      });
      const result = await client.commit(appends);
      return {
        duplicate: result.duplicate,
        count: result.streams.reduce((sum, item) => sum + item.events.length, 0),
        streams: result.streams.map((item) => ({ stream: item.streamId, last_version: item.version })),
      };
    }
    case "read": {
      const events: Event[] = [];
      for await (const event of client.read(stream, {
        ...(step["from_version"] !== undefined ? { fromVersion: step["from_version"] as number } : {}),
        ...(step["to_version"] !== undefined ? { toVersion: step["to_version"] as number } : {}),
        ...(step["since"] !== undefined ? { since: step["since"] as string } : {}),
        ...(step["until"] !== undefined ? { until: step["until"] as string } : {}),
        ...(step["direction"] !== undefined ? { direction: step["direction"] as "forwards" | "backwards" } : {}),
        ...(step["page_size"] !== undefined ? { pageSize: step["page_size"] as number } : {}),
      })) {
        events.push(event);
      }
      return eventsResult(events);
    }
    case "latest": {
      const event = await client.latest(stream);
      return { version: event.version, name: event.name, payload: event.payload };
    }
    case "stream_info": {
      const info = await client.stream(stream);
      return { version: info.version, kind: info.kind, category: info.category, event_count: info.eventCount };
    }
    case "read_all": {
      const events: Event[] = [];
      for await (const event of client.readAll({
        categories: (step["categories"] as string[] | undefined) ?? [],
        names: (step["names"] as string[] | undefined) ?? [],
        ...(step["page_size"] !== undefined ? { pageSize: step["page_size"] as number } : {}),
      })) {
        events.push(event);
      }
      for (let index = 1; index < events.length; index++) {
        assert.ok((events[index] as Event).position > (events[index - 1] as Event).position, "feed positions must strictly increase");
      }
      return { streams: events.map((event) => event.streamId), names: events.map((event) => event.name), count: events.length };
    }
    case "state": {
      const state = await client.state(stream, {
        ...(step["version"] !== undefined ? { version: step["version"] as number } : {}),
        ...(step["at"] !== undefined ? { at: step["at"] as string } : {}),
      });
      return { version: state.version, state: state.state };
    }
    case "snapshot_set": {
      const snapshot = await client.snapshots.set(stream, step["version"] as number, step["payload"], {
        ...(step["label"] !== undefined ? { label: step["label"] as string } : {}),
      });
      return { version: snapshot.version };
    }
    case "snapshot_get": {
      const snapshot = await client.snapshots.get(stream, {
        ...(step["max_version"] !== undefined ? { maxVersion: step["max_version"] as number } : {}),
      });
      return { version: snapshot.version, payload: snapshot.payload };
    }
    default:
      throw new Error(`unknown op ${JSON.stringify(step.op)}`);
  }
}

function describe_(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : JSON.stringify(error);
}

async function runVector(client: Client, file: string, vector: Vector): Promise<void> {
  const run = unique("v");
  const ids = new Map<string, string>();
  for (const [index, raw] of vector.steps.entries()) {
    const step = substitute(raw, run, ids);
    const where = `${file} step ${index} (${step.op})`;
    let result: Record<string, unknown> | undefined;
    let failure: unknown;
    try {
      result = await perform(client, step);
    } catch (error) {
      failure = error;
    }
    if (step.expect_error !== undefined) {
      assert.ok(failure instanceof FlipbookError, `${where}: expected error ${JSON.stringify(step.expect_error)}, got ${failure === undefined ? "success" : describe_(failure)}`);
      assert.equal(failure.code, step.expect_error["code"], `${where}: error code`);
      if (step.expect_error["current_version"] !== undefined) {
        assert.ok(failure instanceof VersionConflict, `${where}: a VersionConflict`);
        assert.equal(failure.currentVersion, step.expect_error["current_version"], `${where}: current_version`);
      }
      continue;
    }
    if (failure !== undefined) throw new Error(`${where}: ${describe_(failure)}`, { cause: failure });
    for (const [key, want] of Object.entries(step.expect ?? {})) {
      assert.ok(result !== undefined && key in result, `${where}: the runner has no result field ${key}`);
      assert.deepStrictEqual(result[key], want, `${where}: ${key}`);
    }
  }
}

const all = vectors();
test("there are shared vectors and own vectors to run", () => {
  assert.ok(all.some(({ file }) => file.includes("clients/conformance/vectors")), "shared vectors found");
  assert.ok(all.some(({ file }) => file.includes("test/vectors")), "own vectors found");
});

for (const transport of TRANSPORTS) {
  describe(`conformance over ${transport}`, () => {
    const client = clientOf(transport);
    after(() => client.close());
    for (const { file, vector } of all) {
      test(`${vector.name} (${file.split("/").slice(-3).join("/")})`, () => runVector(client, file, vector));
    }
  });
}
