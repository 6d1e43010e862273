/** Live subscriptions over the WebSocket bus (Node, through the `ws` package), and durable
 * subscriptions over REST (next/ack/nack) and streamed over gRPC: catch-up, live events,
 * and reconnects after the connection is cut, with no gap and no duplicate. */

import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { type Event, PermissionDenied, Unauthenticated, createClient, subscribeLive } from "../src/index.js";
import { createGrpcClient } from "../src/grpc/index.js";
import { GRPC_TARGET, HTTP_URL, KEY, TcpProxy, hostPort, take, unique } from "./helpers.js";

const client = createClient(HTTP_URL, { apiKey: KEY });

describe("live over the WebSocket bus", () => {
  test("a stream: catch up, then live, then across a cut connection without gap or duplicate", async () => {
    const id = `${unique()}/live stream ✓`;
    await client.append(id, [{ name: "Before", payload: 1 }, { name: "Before", payload: 2 }]);
    const proxy = await new TcpProxy(hostPort(HTTP_URL)).start();
    const live = subscribeLive({ stream: id }, { url: `http://127.0.0.1:${proxy.port}`, apiKey: KEY, reconnect: { baseDelayMs: 50, maxDelayMs: 200 } });
    try {
      const iterator = live[Symbol.asyncIterator]();
      await live.caughtUp;
      await client.append(id, [{ name: "Live", payload: 3 }]);
      const first = await take(iterator, 3);
      assert.deepEqual(first.map((event) => event.version), [1, 2, 3]);
      assert.ok(proxy.cut() > 0, "the proxy had the socket open");
      // Committed while the socket is down: the resubscription must catch them up.
      await client.append(id, [{ name: "WhileDown", payload: 4 }, { name: "WhileDown", payload: 5 }]);
      await client.append(id, [{ name: "WhileDown", payload: 6 }]);
      const rest = await take(iterator, 3);
      assert.deepEqual(rest.map((event) => event.version), [4, 5, 6]);
      assert.ok(live.reconnects >= 1, "it reconnected");
      await client.append(id, [{ name: "AfterReconnect", payload: 7 }]);
      const [last] = await take(iterator, 1);
      assert.equal(last?.version, 7);
      assert.equal(live.version, 7);
    } finally {
      live.close();
      await proxy.stop();
    }
  });

  test("a category feed resumes by position across repeated cuts", async () => {
    const category = unique("cat");
    const proxy = await new TcpProxy(hostPort(HTTP_URL)).start();
    const seen: Event[] = [];
    const live = subscribeLive({ category }, { url: `http://127.0.0.1:${proxy.port}`, apiKey: KEY, reconnect: { baseDelayMs: 20, maxDelayMs: 100 } });
    try {
      await live.caughtUp;
      const iterator = live[Symbol.asyncIterator]();
      for (let round = 0; round < 4; round++) {
        await client.append(`${category}/s${round}`, [{ name: "A", payload: round * 2 }, { name: "B", payload: round * 2 + 1 }], { category });
        if (round % 2 === 0) proxy.cut();
      }
      seen.push(...(await take(iterator, 8)));
      assert.deepEqual(seen.map((event) => event.payload), [0, 1, 2, 3, 4, 5, 6, 7]);
      const positions = seen.map((event) => event.position);
      assert.deepEqual(positions, [...positions].sort((a, b) => a - b));
      assert.equal(new Set(positions).size, 8, "no duplicate");
    } finally {
      live.close();
      await proxy.stop();
    }
  });

  test("the all-feed from a position", async () => {
    const head = await client.append(unique(), [{ name: "Mark" }]);
    const mark = head.events[0]?.position ?? 0;
    const live = subscribeLive({ all: true }, { url: HTTP_URL, apiKey: KEY, after: mark });
    try {
      const id = unique();
      await client.append(id, [{ name: "Next" }]);
      const events = await take(live[Symbol.asyncIterator](), 1);
      assert.ok((events[0]?.position ?? 0) > mark);
    } finally {
      live.close();
    }
  });

  test("a refused subscription fails with a typed error instead of reconnecting", async () => {
    const live = subscribeLive({ all: true }, { url: HTTP_URL, apiKey: "fb_wrong" });
    await assert.rejects(live[Symbol.asyncIterator]().next(), Unauthenticated);
    const other = subscribeLive({ all: true }, { url: HTTP_URL, apiKey: await createPrefixKey() });
    await assert.rejects(other[Symbol.asyncIterator]().next(), PermissionDenied);
  });

  test("an AbortSignal ends the iteration", async () => {
    const controller = new AbortController();
    const live = subscribeLive({ stream: unique() }, { url: HTTP_URL, apiKey: KEY, signal: controller.signal });
    await live.caughtUp;
    setTimeout(() => controller.abort(), 50);
    const result = await live[Symbol.asyncIterator]().next().catch((error: unknown) => error);
    assert.ok(result instanceof Error || (result as IteratorResult<Event>).done === true);
  });
});

// A prefix-restricted key may not read the all-feed; made with the server's own command.
async function createPrefixKey(): Promise<string> {
  const { execFileSync } = await import("node:child_process");
  const { REPO_ROOT, repoPython } = await import("./server.js");
  const env = process.env["FLIPBOOK_TEST_SERVER_ENV"];
  if (env === undefined) throw new Error("FLIPBOOK_TEST_SERVER_ENV is not set: run the tests with npm test");
  const output = execFileSync(repoPython(), ["manage.py", "flipbook_key", "create", unique("k"), "--scope", "read", "--prefix", "only-"], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...(JSON.parse(env) as Record<string, string>) },
    encoding: "utf8",
  });
  return output.trim();
}

describe("durable subscriptions", () => {
  test("REST: next, ack, nack and consume", async () => {
    const category = unique("d");
    const name = unique("sub");
    await client.subscriptions.create(name, { filter: { category }, start: "beginning" });
    for (let index = 0; index < 4; index++) await client.append(`${category}/s`, [{ name: "N", payload: index }], { category });
    const batch = await client.subscriptions.next(name, { max: 2 });
    assert.deepEqual(batch.events.map((event) => event.payload), [0, 1]);
    const second = batch.events[1];
    assert.ok(second);
    const acked = await client.subscriptions.ack(name, second.position);
    assert.equal(acked.checkpoint, second.position);
    const nacked = await client.subscriptions.nack(name, (await client.subscriptions.next(name, { max: 1 })).events[0]?.position ?? 0, "boom");
    assert.equal(nacked.attempts, 1);
    const handled: unknown[] = [];
    const controller = new AbortController();
    await client.subscriptions.consume(
      name,
      (event) => {
        handled.push(event.payload);
        if (handled.length === 2) controller.abort();
      },
      { signal: controller.signal, waitSeconds: 1 },
    );
    assert.deepEqual(handled, [2, 3], "the nacked event comes again first");
    const state = await client.subscriptions.get(name);
    assert.equal(state.lag, 0);
    await client.subscriptions.delete(name);
  });

  test("gRPC Subscribe: catch up, live, ack, and a cut stream resumes without gap or duplicate", async () => {
    const category = unique("g");
    const name = unique("gsub");
    const proxy = await new TcpProxy(hostPort(`grpc://${GRPC_TARGET}`)).start();
    const grpc = createGrpcClient(`127.0.0.1:${proxy.port}`, { apiKey: KEY });
    after(() => grpc.close());
    await grpc.subscriptions.create(name, { filter: { category }, start: "beginning" });
    await client.append(`${category}/s`, [{ name: "N", payload: 0 }, { name: "N", payload: 1 }], { category });
    const subscription = grpc.subscribe(name, { reconnect: { baseDelayMs: 50, maxDelayMs: 200 } });
    try {
      const iterator = subscription[Symbol.asyncIterator]();
      const first = await take(iterator, 2);
      assert.deepEqual(first.map((event) => event.payload), [0, 1]);
      await subscription.caughtUp;
      await subscription.ack(first[0]?.position ?? 0); // the second is delivered but not acked
      await client.append(`${category}/s`, [{ name: "N", payload: 2 }], { category });
      assert.deepEqual((await take(iterator, 1)).map((event) => event.payload), [2]);
      proxy.cut();
      await client.append(`${category}/s`, [{ name: "N", payload: 3 }], { category });
      const after = await take(iterator, 1);
      assert.deepEqual(after.map((event) => event.payload), [3], "no duplicate of the unacked events, no gap");
      assert.ok(subscription.reconnects >= 1, "it reconnected");
      await subscription.ack(after[0]?.position ?? 0);
      const state = await grpc.subscriptions.get(name);
      assert.equal(state.checkpoint, after[0]?.position);
    } finally {
      subscription.close();
      await proxy.stop();
    }
  });
});
