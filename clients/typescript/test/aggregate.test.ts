/** Aggregates and repositories: optimistic concurrency, conflict retries, snapshots, atomic
 * saves of several aggregates; and the Node example. */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Aggregate, type AppliedEvent, Repository, VersionConflict } from "../src/index.js";
import { main as walletExample } from "../examples/wallet.js";
import { HTTP_URL, KEY, TRANSPORTS, clientOf, unique } from "./helpers.js";

class Counter extends Aggregate {
  static readonly category = "counter";
  static readonly snapshotRevision = "2";
  total = 0;
  applied = 0;

  add(amount: number): void {
    this.record("Added", { amount });
  }

  protected apply(event: AppliedEvent): void {
    if (event.name !== "Added") throw new Error(`unknown ${event.name}`);
    this.total += (event.payload as { amount: number }).amount;
    this.applied += 1;
  }
}

for (const transport of TRANSPORTS) {
  describe(`repository over ${transport}`, () => {
    test("a stale save is a VersionConflict; execute retries it", async () => {
      const client = clientOf(transport);
      try {
        const counters = new Repository(client, Counter);
        const id = unique();
        const first = await counters.load(id);
        const second = await counters.load(id);
        first.add(1);
        second.add(2);
        await counters.save(first);
        await assert.rejects(counters.save(second), (error: unknown) => error instanceof VersionConflict && error.currentVersion === 1);
        // Racing commands, each retried on conflict, all land exactly once.
        await Promise.all(Array.from({ length: 6 }, () => counters.execute(id, (counter) => counter.add(10), { retries: 20 })));
        const loaded = await counters.load(id);
        assert.equal(loaded.total, 61);
        assert.equal(loaded.version, 7);
        assert.equal((await client.stream(id)).category, "counter");
      } finally {
        client.close();
      }
    });

    test("snapshots every N versions and loads from the newest", async () => {
      const client = clientOf(transport);
      try {
        const counters = new Repository(client, Counter, { snapshotEvery: 3 });
        const id = unique();
        for (let index = 0; index < 7; index++) await counters.execute(id, (counter) => counter.add(1));
        const snapshot = await client.snapshots.get(id, { revision: counters.revision });
        assert.equal(snapshot.version, 6);
        assert.deepEqual(snapshot.payload, { total: 6, applied: 6 });
        const loaded = await counters.load(id);
        assert.deepEqual([loaded.total, loaded.version], [7, 7]);
        // A marked state at version 6 proves the load starts from the snapshot, not event 1.
        await client.snapshots.set(id, 6, { total: 1000, applied: 1 }, { revision: counters.revision });
        const fromSnapshot = await counters.load(id);
        assert.deepEqual([fromSnapshot.total, fromSnapshot.applied, fromSnapshot.version], [1001, 2, 7]);
      } finally {
        client.close();
      }
    });
  });
}

test("the Node example moves money between two wallets atomically", async () => {
  const balances = await walletExample(HTTP_URL, KEY, unique());
  assert.deepEqual(balances, { alice: 70, bob: 30 });
});
