/** A wallet ledger on Flipbook from Node: an aggregate with optimistic concurrency, a
 * transfer between two wallets in one atomic commit, and the ledger read back.
 *
 *   FLIPBOOK_URL=http://127.0.0.1:8000 FLIPBOOK_KEY=<key> node build/examples/wallet.js */

import { Aggregate, type AppliedEvent, Repository, createClient } from "../src/index.js";

class Wallet extends Aggregate {
  static readonly category = "wallet";
  balance = 0;

  deposit(amount: number): void {
    this.record("Deposited", { amount });
  }

  send(amount: number, to: string): void {
    if (amount > this.balance) throw new Error(`${this.id} holds ${this.balance}, cannot send ${amount}`);
    this.record("TransferSent", { amount, to });
  }

  receive(amount: number, from: string): void {
    this.record("TransferReceived", { amount, from });
  }

  protected apply(event: AppliedEvent): void {
    const { amount } = event.payload as { amount: number };
    if (event.name === "Deposited" || event.name === "TransferReceived") this.balance += amount;
    else if (event.name === "TransferSent") this.balance -= amount;
    else throw new Error(`Wallet cannot apply ${event.name}`);
  }
}

export async function main(url: string, apiKey: string, suffix = String(Date.now())): Promise<{ alice: number; bob: number }> {
  const client = createClient(url, { apiKey });
  const wallets = new Repository(client, Wallet, { snapshotEvery: 10 });
  const [alice, bob] = [`wallet-alice-${suffix}`, `wallet-bob-${suffix}`];
  await wallets.execute(alice, (wallet) => wallet.deposit(100), { retries: 5 });
  // One atomic commit of both wallets' events, retried on a conflict.
  await wallets.execute([alice, bob], (from: Wallet, to: Wallet) => {
    from.send(30, bob);
    to.receive(30, alice);
  }, { retries: 5 });
  for await (const event of client.read(alice)) console.log(`${event.streamId} v${event.version} ${event.name}`, event.payload);
  const balances = { alice: (await wallets.load(alice)).balance, bob: (await wallets.load(bob)).balance };
  console.log("balances", balances);
  return balances;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const url = process.env["FLIPBOOK_URL"] ?? "http://127.0.0.1:8000";
  const key = process.env["FLIPBOOK_KEY"];
  if (!key) {
    console.error("set FLIPBOOK_KEY to an API key (make run prints one)");
    process.exit(2);
  }
  await main(url, key);
}
