/** deleteStream and truncateStream over both transports, against a real `flipbook serve`. */

import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { NotFound, StreamDeleted, ValidationError } from "../src/index.js";
import { TRANSPORTS, clientOf, unique } from "./helpers.js";

for (const transport of TRANSPORTS) {
  describe(`stream lifecycle over ${transport}`, () => {
    const client = clientOf(transport);
    after(() => client.close());

    test("a soft delete reads as NotFound until an append starts the stream again", async () => {
      const id = `${unique()}/soft`;
      await client.append(id, [{ name: "A" }, { name: "B" }]);
      const head = await client.deleteStream(id);
      assert.equal(head.version, 2);
      assert.ok((await client.stream(id).catch((error: unknown) => error)) instanceof NotFound);
      const again = await client.append(id, [{ name: "C" }], { expectedVersion: 2 });
      assert.equal(again.version, 3);
    });

    test("a hard delete leaves a tombstone: StreamDeleted for ever", async () => {
      const id = `${unique()}/hard`;
      await client.append(id, [{ name: "A" }]);
      await client.deleteStream(id, { hard: true });
      const refused = await client.append(id, [{ name: "B" }]).catch((error: unknown) => error);
      assert.ok(refused instanceof StreamDeleted);
      assert.equal(refused.code, "stream_deleted");
      const missing = await client.deleteStream(`${id}-missing`).catch((error: unknown) => error);
      assert.ok(missing instanceof NotFound);
    });

    test("truncate hides the events below a version", async () => {
      const id = `${unique()}/cut`;
      await client.append(id, [{ name: "A" }, { name: "B" }, { name: "C" }, { name: "D" }]);
      const head = await client.truncateStream(id, 3);
      assert.deepEqual([head.version, head.eventCount], [4, 2]);
      const versions: (number | null)[] = [];
      for await (const event of client.read(id, { fromVersion: 1 })) versions.push(event.version);
      assert.deepEqual(versions, [3, 4]);
      const tooFar = await client.truncateStream(id, 9).catch((error: unknown) => error);
      assert.ok(tooFar instanceof ValidationError);
    });
  });
}
