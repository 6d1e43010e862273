/** The Client over both transports: appends with every expected-version form, idempotent
 * re-sends, reading by version and time through paging iterators, typed errors, retries on
 * Unavailable and AbortSignal. */

import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import {
  Aborted,
  IdConflict,
  NotFound,
  Unauthenticated,
  Unavailable,
  ValidationError,
  VersionConflict,
  createClient,
} from "../src/index.js";
import { createGrpcClient } from "../src/grpc/index.js";
import { freePort } from "./server.js";
import { GRPC_TARGET, HTTP_URL, TRANSPORTS, clientOf, unique } from "./helpers.js";

for (const transport of TRANSPORTS) {
  describe(`client over ${transport}`, () => {
    const client = clientOf(transport);
    after(() => client.close());

    test("append checks exact, no-stream, exists and any, and a conflict names the head", async () => {
      const id = `${unique()}/acct`;
      const first = await client.append(id, [{ name: "Opened", payload: { owner: "ada" } }], { expectedVersion: "no_stream", category: "acct" });
      assert.deepEqual([first.firstVersion, first.lastVersion, first.duplicate], [1, 1, false]);
      const conflict = await client.append(id, [{ name: "Opened" }], { expectedVersion: 0 }).catch((error: unknown) => error);
      assert.ok(conflict instanceof VersionConflict);
      assert.equal(conflict.currentVersion, 1);
      assert.equal(conflict.code, "version_conflict");
      const exact = await client.append(id, [{ name: "Deposited", payload: { amount: 3 } }], { expectedVersion: 1 });
      assert.equal(exact.version, 2);
      const exists = await client.append(id, [{ name: "Deposited", payload: { amount: 4 } }], { expectedVersion: "exists" });
      assert.equal(exists.version, 3);
      const missing = await client.append(`${id}-missing`, [{ name: "X" }], { expectedVersion: "exists" }).catch((error: unknown) => error);
      assert.ok(missing instanceof VersionConflict);
      assert.equal(missing.currentVersion, 0);
      const any = await client.append(id, [{ name: "Closed" }]);
      assert.equal(any.version, 4);
      const info = await client.stream(id);
      assert.deepEqual([info.version, info.kind, info.category, info.eventCount], [4, "versioned", "acct", 4]);
    });

    test("a re-send with the same ids is a duplicate; other content under an id is an IdConflict", async () => {
      const id = unique();
      const eventId = globalThis.crypto.randomUUID();
      const events = [{ name: "Paid", payload: { amount: 5 }, id: eventId }];
      const stored = await client.append(id, events, { expectedVersion: 0 });
      const again = await client.append(id, events, { expectedVersion: 0 });
      assert.equal(again.duplicate, true);
      assert.equal(again.events[0]?.position, stored.events[0]?.position);
      const other = await client.append(id, [{ name: "Paid", payload: { amount: 6 }, id: eventId }]).catch((error: unknown) => error);
      assert.ok(other instanceof IdConflict);
      assert.deepEqual(other.eventIds, [eventId]);
    });

    test("events without ids get one, so every append can be retried safely", async () => {
      const result = await client.append(unique(), [{ name: "A" }, { name: "B" }]);
      assert.equal(result.events.length, 2);
      for (const event of result.events) assert.match(event.id, /^[0-9a-f-]{36}$/);
    });

    test("an append answers where the events went (ids, versions, positions, store times), not their payloads", async () => {
      const id = unique();
      const eventId = globalThis.crypto.randomUUID();
      const result = await client.append(id, [{ name: "Opened", payload: { owner: "ada" }, id: eventId }, { name: "Paid" }]);
      assert.deepEqual(result.events.map((event) => Object.keys(event).sort()), [
        ["id", "position", "recordedAt", "version"],
        ["id", "position", "recordedAt", "version"],
      ]);
      assert.equal(result.events[0]?.id, eventId);
      const read = [];
      for await (const event of client.read(id)) read.push(event);
      assert.deepEqual(
        read.map(({ id: eventId, version, position, recordedAt }) => ({ id: eventId, version, position, recordedAt })),
        result.events,
      );
      assert.deepEqual(read[0]?.payload, { owner: "ada" });
      const commit = await client.commit([{ streamId: `${id}-b`, events: [{ name: "A" }], expectedVersion: "no_stream" }]);
      const committed = commit.streams[0]?.events[0];
      assert.ok(committed);
      assert.deepEqual([committed.position, committed.version], [commit.lastPosition, 1]);
    });

    test("read pages forwards and backwards, by version and by natural time", async () => {
      const id = unique();
      await client.append(
        id,
        Array.from({ length: 7 }, (_, index) => ({
          name: `E${index + 1}`,
          payload: { index },
          timestamp: new Date(Date.UTC(2024, index, 1)),
        })),
      );
      const forwards = [];
      for await (const event of client.read(id, { pageSize: 2 })) forwards.push(event.version);
      assert.deepEqual(forwards, [1, 2, 3, 4, 5, 6, 7]);
      const backwards = [];
      for await (const event of client.read(id, { direction: "backwards", pageSize: 3, toVersion: 5 })) backwards.push(event.version);
      assert.deepEqual(backwards, [5, 4, 3, 2, 1]);
      const byTime = [];
      for await (const event of client.read(id, { since: "2024-03-01T00:00:00Z", until: new Date(Date.UTC(2024, 4, 1)), pageSize: 1 })) {
        byTime.push(event.name);
      }
      assert.deepEqual(byTime, ["E3", "E4", "E5"]);
      const page = await client.readPage(id, { fromVersion: 6, limit: 10 });
      assert.deepEqual(page.items.map((event) => event.timestamp), ["2024-06-01T00:00:00.000000Z", "2024-07-01T00:00:00.000000Z"]);
      const latest = await client.latest(id);
      assert.equal(latest.name, "E7");
    });

    test("the all-feed pages in position order, filtered by category and name", async () => {
      const category = unique("c");
      for (let index = 0; index < 5; index++) {
        await client.append(`${category}/s${index % 2}`, [{ name: index % 2 ? "Odd" : "Even", payload: index }], { category });
      }
      const events = [];
      for await (const event of client.readAll({ categories: [category], pageSize: 2 })) events.push(event);
      assert.deepEqual(events.map((event) => event.payload), [0, 1, 2, 3, 4]);
      const odd = [];
      for await (const event of client.readAll({ categories: [category], names: ["Odd"] })) odd.push(event.payload);
      assert.deepEqual(odd, [1, 3]);
      const tail = [];
      const third = events[2];
      assert.ok(third);
      for await (const event of client.readAll({ categories: [category], after: third.position })) tail.push(event.payload);
      assert.deepEqual(tail, [3, 4]);
    });

    test("listStreams pages by prefix", async () => {
      const prefix = unique("p");
      for (let index = 0; index < 5; index++) await client.append(`${prefix}-${index}`, [{ name: "X" }]);
      const ids = [];
      for await (const info of client.listStreams({ prefix, pageSize: 2 })) ids.push(info.streamId);
      assert.deepEqual(ids, [0, 1, 2, 3, 4].map((index) => `${prefix}-${index}`));
    });

    test("state at a version and at a time; snapshots", async () => {
      const id = unique();
      await client.append(id, [
        { name: "Set", payload: { a: 1 }, timestamp: "2024-01-01T00:00:00Z" },
        { name: "Set", payload: { b: 2 }, timestamp: "2024-06-01T00:00:00Z" },
      ]);
      assert.deepEqual((await client.state(id, { version: 1 })).state, { a: 1 });
      assert.deepEqual((await client.state(id, { at: "2024-03-01T00:00:00Z" })).state, { a: 1 });
      assert.deepEqual((await client.state(id)).state, { a: 1, b: 2 });
      const set = await client.snapshots.set(id, 2, { a: 1, b: 2 }, { label: "nightly" });
      assert.deepEqual([set.version, set.label, set.revision], [2, "nightly", "client"]);
      const got = await client.snapshots.get(id);
      assert.deepEqual(got.payload, { a: 1, b: 2 });
      await assert.rejects(client.snapshots.get(id, { maxVersion: 1 }), NotFound);
      await assert.rejects(client.state(`${id}-none`), NotFound);
    });

    test("bad input is a ValidationError naming the field", async () => {
      const error = await client.append(unique(), [{ name: "" }]).catch((caught: unknown) => caught);
      assert.ok(error instanceof ValidationError);
      assert.ok(error.field, "the server names the field");
      assert.throws(() => client.readPage("x", { limit: 0 }), ValidationError);
      await assert.rejects(client.read("x", { since: "yesterday" }).next(), ValidationError);
    });

    test("a subscription paused delivers nothing until resumed; a missing one is NotFound", async () => {
      const name = unique("sub");
      const category = unique("pause");
      await client.subscriptions.create(name, { filter: { category }, start: "beginning" });
      await client.append(`${category}/1`, [{ name: "A", payload: 1 }, { name: "B", payload: 2 }], { category });
      const paused = await client.subscriptions.pause(name);
      assert.deepEqual([paused.paused, paused.status], [true, "paused"]);
      assert.equal((await client.subscriptions.get(name)).paused, true);
      assert.equal((await client.subscriptions.next(name, { waitSeconds: 0 })).events.length, 0);
      const resumed = await client.subscriptions.resume(name);
      assert.equal(resumed.paused, false);
      assert.notEqual(resumed.status, "paused");
      const batch = await client.subscriptions.next(name, { waitSeconds: 0 });
      assert.deepEqual(batch.events.map((e) => e.payload), [1, 2]);
      await assert.rejects(client.subscriptions.pause(`${name}-missing`), NotFound);
      await client.subscriptions.delete(name);
    });

    test("an AbortSignal aborts a call", async () => {
      const controller = new AbortController();
      controller.abort();
      await assert.rejects(client.stream("anything", { signal: controller.signal }), Aborted);
      const waiting = new AbortController();
      const name = unique("sub");
      await client.subscriptions.create(name, { start: "end" });
      const pending = client.subscriptions.next(name, { waitSeconds: 20, signal: waiting.signal });
      setTimeout(() => waiting.abort(), 200);
      const started = Date.now();
      await assert.rejects(pending, Aborted);
      assert.ok(Date.now() - started < 5000, "the long poll ended at the abort");
      await client.subscriptions.delete(name);
    });
  });
}

test("a wrong API key is Unauthenticated over both transports", async () => {
  const rest = createClient(HTTP_URL, { apiKey: "fb_wrong" });
  const grpc = createGrpcClient(GRPC_TARGET, { apiKey: "fb_wrong" });
  try {
    await assert.rejects(rest.stream("x"), Unauthenticated);
    await assert.rejects(grpc.stream("x"), Unauthenticated);
  } finally {
    grpc.close();
  }
});

test("idempotent calls are retried with backoff on Unavailable, others are not", async () => {
  const port = await freePort(); // nothing listens there
  let requests = 0;
  const counting: typeof fetch = (input, init) => {
    requests += 1;
    return fetch(input, init);
  };
  const client = createClient(`http://127.0.0.1:${port}`, { fetch: counting, retry: { attempts: 3, baseDelayMs: 5 } });
  await assert.rejects(client.stream("x"), Unavailable);
  assert.equal(requests, 3, "a read is tried 3 times");
  requests = 0;
  await assert.rejects(client.append("x", [{ name: "A" }]), Unavailable);
  assert.equal(requests, 3, "an append whose events carry ids is retried");
  requests = 0;
  const noIds = createClient(`http://127.0.0.1:${port}`, { fetch: counting, retry: { attempts: 3, baseDelayMs: 5 }, autoEventIds: false });
  await assert.rejects(noIds.append("x", [{ name: "A" }]), Unavailable);
  assert.equal(requests, 1, "an append without ids is not retried");
  requests = 0;
  await assert.rejects(client.subscriptions.nack("s", 1), Unavailable);
  assert.equal(requests, 1, "nack is not retried");
  const grpc = createGrpcClient(`127.0.0.1:${port}`, { retry: { attempts: 2, baseDelayMs: 5 }, timeoutMs: 2000 });
  try {
    await assert.rejects(grpc.stream("x"), Unavailable);
  } finally {
    grpc.close();
  }
});
