/** Retention policies, scavenge and erase over both transports, against a real `flipbook serve`. */

import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { NotFound, StreamDeleted, ValidationError } from "../src/index.js";
import { TRANSPORTS, clientOf, unique } from "./helpers.js";

for (const transport of TRANSPORTS) {
  describe(`retention, scavenge and erase over ${transport}`, () => {
    const client = clientOf(transport);
    after(() => client.close());

    test("a stream's own policy is set, read, applied by a scavenge and cleared", async () => {
      const id = `${unique()}/kept`;
      await client.append(id, ["A", "B", "C", "D"].map((name) => ({ name })));
      assert.equal((await client.streamRetention(id)).source, "none");
      const policy = await client.setStreamRetention(id, { maxCount: 1 });
      assert.deepEqual([policy.source, policy.maxCount, policy.maxAge], ["stream", 1, null]);
      assert.ok(policy.updatedAt);
      let removed = 0;
      for (;;) {
        const report = await client.scavenge({ limit: 1 });
        removed += report.removedEvents;
        if (report.complete) break;
        assert.equal(report.removedEvents, 1);
      }
      assert.ok(removed >= 3, `removed ${removed}`);
      const names: string[] = [];
      for await (const event of client.read(id, { fromVersion: 1 })) names.push(event.name);
      assert.deepEqual(names, ["D"]);
      assert.equal((await client.clearStreamRetention(id)).source, "none");
      assert.ok((await client.clearStreamRetention(id).catch((error: unknown) => error)) instanceof NotFound);
    });

    test("bad policies are refused", async () => {
      const id = `${unique()}/bad`;
      for (const policy of [{}, { maxCount: 0 }, { maxAge: -1 }]) {
        const refused = await client.setStreamRetention(id, policy).catch((error: unknown) => error);
        assert.ok(refused instanceof ValidationError, `${JSON.stringify(policy)}: ${String(refused)}`);
      }
      await client.append(id, [{ name: "A" }]);
      await client.deleteStream(id, { hard: true });
      const gone = await client.setStreamRetention(id, { maxAge: 60 }).catch((error: unknown) => error);
      assert.ok(gone instanceof StreamDeleted);
    });

    test("erase destroys the subject's key: its fields read as erased", async () => {
      const id = `${unique()}/person`;
      const subject = unique("subject");
      const metadata = { personal_data: { subject, fields: ["$.email"] } };
      await client.append(id, [{ name: "Joined", payload: { email: "t@example.com", n: 1 }, metadata }]);
      const erasure = await client.erase(subject);
      assert.deepEqual([erasure.subject, erasure.keysDestroyed, erasure.streams], [subject, 1, 1]);
      assert.ok(erasure.erasedBy.startsWith("key:") && erasure.auditId > 0 && erasure.erasedAt);
      const payloads: unknown[] = [];
      for await (const event of client.read(id)) payloads.push(event.payload);
      assert.deepEqual(payloads, [{ email: { erased: true }, n: 1 }]);
      assert.ok((await client.erase(subject).catch((error: unknown) => error)) instanceof NotFound);
    });
  });
}
