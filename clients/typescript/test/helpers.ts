/** What every test file shares: the server run.ts started, clients of it, unique names, and
 * a TCP proxy whose connections a test can cut (a network failure between client and server). */

import { createServer, type Server, type Socket, connect } from "node:net";
import { Client, createClient } from "../src/index.js";
import { createGrpcClient } from "../src/grpc/index.js";

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests with \`npm test\` (test/run.ts starts the server)`);
  return value;
}

export const HTTP_URL = required("FLIPBOOK_TEST_HTTP_URL");
export const GRPC_TARGET = required("FLIPBOOK_TEST_GRPC_TARGET");
export const KEY = required("FLIPBOOK_TEST_KEY");

export type TransportName = "rest" | "grpc";
export const TRANSPORTS: TransportName[] = ["rest", "grpc"];

export function clientOf(transport: TransportName): Client {
  return transport === "rest" ? createClient(HTTP_URL, { apiKey: KEY }) : createGrpcClient(GRPC_TARGET, { apiKey: KEY });
}

let counter = 0;
/** A prefix unique to this run and call: letters and digits only. */
export function unique(label = "t"): string {
  counter += 1;
  return `${label}${process.pid}x${Date.now().toString(36)}x${counter}`;
}

/** A TCP proxy to `target` (host:port) on a free port; `cut()` destroys every open connection. */
export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private server: Server | null = null;
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<this> {
    this.server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on("close", () => this.sockets.delete(socket));
        socket.on("error", () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((done) => this.server?.listen(0, "127.0.0.1", done));
    const address = this.server.address();
    this.port = typeof address === "object" && address ? address.port : 0;
    return this;
  }

  cut(): number {
    const count = this.sockets.size;
    for (const socket of this.sockets) socket.destroy();
    return count;
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((done) => (this.server ? this.server.close(() => done()) : done()));
  }
}

export function hostPort(url: string): { host: string; port: number } {
  const match = /^(?:\w+:\/\/)?([^:/]+):(\d+)/.exec(url);
  if (!match) throw new Error(`no host:port in ${url}`);
  return { host: match[1] as string, port: Number(match[2]) };
}

/** Take `count` items from an async iterator, failing after `ms`. */
export async function take<T>(iterator: AsyncIterator<T>, count: number, ms = 20_000): Promise<T[]> {
  const items: T[] = [];
  const deadline = Date.now() + ms;
  while (items.length < count) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`got ${items.length} of ${count} items within ${ms} ms`);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, fail) => {
      timer = setTimeout(() => fail(new Error(`got ${items.length} of ${count} items within ${ms} ms`)), left);
    });
    try {
      const result = await Promise.race([iterator.next(), timeout]);
      if (result.done) throw new Error(`the iterator ended after ${items.length} of ${count} items`);
      items.push(result.value);
    } finally {
      clearTimeout(timer);
    }
  }
  return items;
}
