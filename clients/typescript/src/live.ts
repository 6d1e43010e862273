/** Live events over the server's WebSocket bus (`/ws/events`, `/ws/categories/<name>`,
 * `/ws/streams/<id>`), in browsers (the global WebSocket) and Node (the `ws` package).
 *
 * The server sends what was missed from the store, then `caught_up`, then live events. When
 * the socket drops, this reconnects with backoff and subscribes again from the last position
 * (feeds, version-neutral streams) or version (streams) it delivered, and skips anything at
 * or below it: no gap, no duplicate. */

import { Aborted, FlipbookError, PermissionDenied, Unauthenticated, ValidationError } from "./errors.js";
import type { components } from "./generated/openapi.js";
import { eventFromJson } from "./rest.js";
import { backoffDelay, sleep } from "./retry.js";
import type { Event } from "./types.js";

/** What to watch: the all-feed, one category, or one stream. */
export type LiveTarget = { all: true } | { category: string } | { stream: string };

export type LiveStatus = "connecting" | "catching_up" | "live" | "reconnecting" | "closed";

/** The part of the WebSocket API used here: the browser's and `ws`'s both have it. */
export interface WebSocketLike {
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketFactory = (url: string, headers: Record<string, string>) => WebSocketLike | Promise<WebSocketLike>;

export interface LiveOptions {
  /** The server's HTTP base URL, e.g. `http://127.0.0.1:8000` (ws:// is derived from it). */
  url: string;
  apiKey?: string | undefined;
  /** Feeds: deliver events with a position above this (default 0: everything). */
  after?: number;
  /** Streams: deliver versions above this (default 0: everything). */
  afterVersion?: number;
  /** Opens a socket; default: the global WebSocket, else the `ws` package (Node). */
  webSocket?: WebSocketFactory;
  /** Backoff between reconnects (default 250 ms doubling to 5 s); `attempts` in a row before giving up (default: never). */
  reconnect?: { baseDelayMs?: number; maxDelayMs?: number; attempts?: number };
  signal?: AbortSignal;
  onStatus?: (status: LiveStatus) => void;
  /** Called after each (re)subscription has caught up, with the feed position it reached. */
  onCaughtUp?: (position: number) => void;
}

const FATAL_CLOSE = new Map<number, (message: string) => FlipbookError>([
  [4400, (message) => new ValidationError(message)],
  [4401, (message) => new Unauthenticated(message)],
  [4403, (message) => new PermissionDenied(message)],
]);

/** The WebSocket URL of a target on the server at `url`. */
export function liveUrl(url: string, target: LiveTarget): string {
  const base = url
    .replace(/\/+$/, "")
    .replace(/\/api\/v1$/, "")
    .replace(/^http(s?):\/\//i, (_, s: string) => `ws${s}://`);
  if (!/^wss?:\/\//i.test(base)) {
    throw new ValidationError(`the server URL must start with http:// or https://, not ${JSON.stringify(url)}`, {
      details: { field: "url" },
    });
  }
  if ("stream" in target) return `${base}/ws/streams/${encodeURIComponent(target.stream)}`;
  if ("category" in target) return `${base}/ws/categories/${encodeURIComponent(target.category)}`;
  return `${base}/ws/events`;
}

async function defaultWebSocket(url: string, headers: Record<string, string>): Promise<WebSocketLike> {
  const global = (globalThis as { WebSocket?: new (url: string) => WebSocketLike }).WebSocket;
  if (global !== undefined) {
    // Browsers cannot set headers on a socket: the key goes in the query.
    const key = headers["Authorization"]?.replace(/^Bearer /, "");
    return new global(key ? `${url}?key=${encodeURIComponent(key)}` : url);
  }
  const { WebSocket } = await import("ws");
  return new WebSocket(url, { headers }) as unknown as WebSocketLike;
}

interface Waiter {
  resolve: (result: IteratorResult<Event>) => void;
  reject: (error: unknown) => void;
}

/** A live subscription: iterate it (`for await`) for events, `close()` it when done. */
export class LiveSubscription implements AsyncIterable<Event> {
  readonly target: LiveTarget;
  /** The position of the last event delivered (0: none yet). */
  position: number;
  /** The version of the last event delivered on a versioned stream (0: none yet). */
  version: number;
  /** Resolves once the first subscription has caught up, with the feed position it reached. */
  readonly caughtUp: Promise<number>;
  /** How many times the socket was opened again after a drop. */
  reconnects = 0;

  private readonly options: LiveOptions;
  private readonly url: string;
  private readonly queue: Event[] = [];
  private waiters: Waiter[] = [];
  private failure: Error | undefined = undefined;
  private closed = false;
  private neutral = false;
  private socket: WebSocketLike | null = null;
  private resolveCaughtUp!: (position: number) => void;
  private readonly onAbort = (): void => this.close();

  constructor(target: LiveTarget, options: LiveOptions) {
    this.target = target;
    this.options = options;
    this.url = liveUrl(options.url, target);
    this.position = options.after ?? 0;
    this.version = options.afterVersion ?? 0;
    this.caughtUp = new Promise((resolve) => {
      this.resolveCaughtUp = resolve;
    });
    this.caughtUp.catch(() => undefined);
    if (options.signal?.aborted) {
      this.closed = true;
      return;
    }
    options.signal?.addEventListener("abort", this.onAbort, { once: true });
    void this.run();
  }

  private status(status: LiveStatus): void {
    this.options.onStatus?.(status);
  }

  private async run(): Promise<void> {
    const reconnect = {
      attempts: this.options.reconnect?.attempts ?? Number.POSITIVE_INFINITY,
      baseDelayMs: this.options.reconnect?.baseDelayMs ?? 250,
      maxDelayMs: this.options.reconnect?.maxDelayMs ?? 5000,
    };
    let failures = 0;
    while (!this.closed) {
      this.status(this.reconnects === 0 && failures === 0 ? "connecting" : "reconnecting");
      let outcome: { caughtUp: boolean; fatal?: FlipbookError };
      try {
        outcome = await this.connectOnce();
      } catch (error) {
        outcome = { caughtUp: false, fatal: error instanceof FlipbookError ? error : new FlipbookError(String(error), { cause: error }) };
      }
      // close() may have run while the socket was open.
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
      if (this.closed) break;
      if (outcome.fatal && FATAL_CLOSE.has(Number(outcome.fatal.status))) {
        this.fail(outcome.fatal);
        return;
      }
      failures = outcome.caughtUp ? 1 : failures + 1;
      if (failures > reconnect.attempts) {
        this.fail(outcome.fatal ?? new FlipbookError(`the event bus at ${this.url} could not be reached`, { code: "unavailable" }));
        return;
      }
      this.reconnects += 1;
      try {
        await sleep(backoffDelay(failures, { ...reconnect, attempts: 0 }), this.options.signal);
      } catch {
        break;
      }
    }
    this.finish();
  }

  /** One socket's life: resolves when it closes, telling whether it had caught up. */
  private async connectOnce(): Promise<{ caughtUp: boolean; fatal?: FlipbookError }> {
    const headers: Record<string, string> = {};
    if (this.options.apiKey) headers["Authorization"] = `Bearer ${this.options.apiKey}`;
    const socket = await (this.options.webSocket ?? defaultWebSocket)(this.url, headers);
    this.socket = socket;
    if (this.closed) socket.close(1000);
    return new Promise((resolve) => {
      let caughtUp = false;
      let errorMessage = "";
      socket.onopen = () => {
        this.status("catching_up");
        const start =
          "stream" in this.target && !this.neutral ? { after_version: this.version } : { after: this.position };
        socket.send(JSON.stringify({ type: "subscribe", ...start }));
      };
      socket.onmessage = (message) => {
        const data = parse(message.data);
        if (data === undefined) return;
        if (data.type === "event" && data.event) {
          this.deliver(eventFromJson(data.event));
        } else if (data.type === "caught_up") {
          caughtUp = true;
          const position = typeof data.position === "number" ? data.position : this.position;
          this.status("live");
          this.resolveCaughtUp(position);
          this.options.onCaughtUp?.(position);
        } else if (data.type === "error") {
          errorMessage = `${String(data.code)}: ${String(data.message)}`;
        }
      };
      socket.onerror = () => undefined; // onclose follows with the code
      socket.onclose = (event) => {
        this.socket = null;
        const fatal = FATAL_CLOSE.get(event.code);
        if (fatal !== undefined) {
          const error = fatal(errorMessage || `the event bus refused the subscription (close ${event.code})`);
          resolve({ caughtUp, fatal: Object.assign(error, { status: event.code }) });
          return;
        }
        resolve({ caughtUp });
      };
    });
  }

  private deliver(event: Event): void {
    if (event.version === null) {
      // Version-neutral (or a feed): positions tell what was delivered.
      if ("stream" in this.target) this.neutral = true;
      if (event.position <= this.position) return;
    } else if ("stream" in this.target) {
      if (event.version <= this.version) return;
      this.version = event.version;
    } else if (event.position <= this.position) {
      return;
    }
    this.position = Math.max(this.position, event.position);
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve({ value: event, done: false });
    else this.queue.push(event);
  }

  private fail(error: Error): void {
    this.failure = error;
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
    this.status("closed");
  }

  private finish(): void {
    this.closed = true;
    this.options.signal?.removeEventListener("abort", this.onAbort);
    for (const waiter of this.waiters.splice(0)) waiter.resolve({ value: undefined, done: true });
    this.status("closed");
  }

  /** Stop: the socket closes and iteration ends after the events already received. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket?.close(1000);
    this.finish();
  }

  /** Drop the current socket as a network failure would (it reconnects); for tests and demos. */
  dropConnection(): void {
    this.socket?.close(4000, "dropped by the client");
  }

  /** The next event, waiting for one; done once closed and drained. */
  next(): Promise<IteratorResult<Event>> {
    const event = this.queue.shift();
    if (event !== undefined) return Promise.resolve({ value: event, done: false });
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.closed) {
      if (this.options.signal?.aborted) return Promise.reject(new Aborted("the live subscription was aborted"));
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  [Symbol.asyncIterator](): AsyncIterator<Event> {
    return {
      next: () => this.next(),
      return: () => {
        this.close();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}

interface BusMessage {
  type?: string;
  event?: components["schemas"]["Event"];
  position?: number;
  code?: unknown;
  message?: unknown;
}

function parse(data: unknown): BusMessage | undefined {
  try {
    if (typeof data !== "string" && !(data instanceof ArrayBuffer) && !ArrayBuffer.isView(data)) return undefined;
    const text = typeof data === "string" ? data : new TextDecoder().decode(data);
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Watch a target live: catch up from `after`/`afterVersion`, then every new event. */
export function subscribeLive(target: LiveTarget, options: LiveOptions): LiveSubscription {
  return new LiveSubscription(target, options);
}
