/** A durable subscription streamed over gRPC (`EventStore.Subscribe`): the events after the
 * checkpoint, then live ones; `ack`/`nack` move the checkpoint. When the stream breaks it
 * reconnects with backoff; the server resends from the checkpoint and what this already
 * handed out is skipped, so the consumer sees no gap and no duplicate (a nacked event
 * comes again, by design). */

import type * as grpc from "@grpc/grpc-js";
import { status as grpcStatus } from "@grpc/grpc-js";
import { FlipbookError, Unavailable } from "../errors.js";
import * as pb from "../generated/flipbook/v1/eventstore.js";
import { backoffDelay, sleep } from "../retry.js";
import type { Event, NackResult, Subscription } from "../types.js";
import { type GrpcTransport, errorFromStatus, eventOf } from "./transport.js";

export interface DurableSubscribeOptions {
  /** Events sent beyond the checkpoint before the server waits for acks (default 100). */
  maxInFlight?: number;
  signal?: AbortSignal;
  /** Backoff between reconnects (250 ms doubling to 5 s); `attempts` in a row before giving up (default: never). */
  reconnect?: { baseDelayMs?: number; maxDelayMs?: number; attempts?: number };
  /** Called each time a (re)connected stream has delivered the backlog. */
  onCaughtUp?: (position: number) => void;
}

// Errors a reconnect cannot fix.
const FATAL = new Set<number>([
  grpcStatus.INVALID_ARGUMENT,
  grpcStatus.NOT_FOUND,
  grpcStatus.UNAUTHENTICATED,
  grpcStatus.PERMISSION_DENIED,
  grpcStatus.UNIMPLEMENTED,
]);

interface Waiter {
  resolve: (result: IteratorResult<Event>) => void;
  reject: (error: unknown) => void;
}

export class DurableSubscription implements AsyncIterable<Event> {
  readonly name: string;
  /** The highest position handed out (events at or below it are skipped when resent). */
  delivered = 0;
  reconnects = 0;
  /** Resolves when the first stream has caught up, with the feed head then. */
  readonly caughtUp: Promise<number>;

  private readonly transport: GrpcTransport;
  private readonly options: DurableSubscribeOptions;
  private readonly queue: Event[] = [];
  private waiters: Waiter[] = [];
  private call: grpc.ClientReadableStream<pb.SubscribeResponse> | null = null;
  private failure: Error | undefined = undefined;
  private closed = false;
  private resolveCaughtUp!: (position: number) => void;
  private readonly onAbort = (): void => this.close();

  constructor(transport: GrpcTransport, name: string, options: DurableSubscribeOptions = {}) {
    this.transport = transport;
    this.name = name;
    this.options = options;
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

  private async run(): Promise<void> {
    const reconnect = {
      attempts: this.options.reconnect?.attempts ?? Number.POSITIVE_INFINITY,
      baseDelayMs: this.options.reconnect?.baseDelayMs ?? 250,
      maxDelayMs: this.options.reconnect?.maxDelayMs ?? 5000,
    };
    let failures = 0;
    while (!this.closed) {
      const outcome = await this.streamOnce();
      // close() may have run while the stream was open.
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
      if (this.closed) break;
      if (outcome.error && FATAL.has(outcome.code ?? -1)) {
        this.fail(outcome.error);
        return;
      }
      failures = outcome.caughtUp ? 1 : failures + 1;
      if (failures > reconnect.attempts) {
        this.fail(outcome.error ?? new Unavailable(`the subscription ${this.name} stream keeps breaking`));
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

  private streamOnce(): Promise<{ caughtUp: boolean; error?: FlipbookError; code?: number }> {
    return new Promise((resolve) => {
      let caughtUp = false;
      const request = pb.SubscribeRequest.fromPartial({ name: this.name, maxInFlight: this.options.maxInFlight ?? 0 });
      const es = this.transport.eventStore;
      const call = es.subscribe(request, this.transport.metadata());
      this.call = call;
      call.on("data", (message: pb.SubscribeResponse) => {
        if (message.event) this.deliver(eventOf(message.event));
        else if (message.caughtUp) {
          caughtUp = true;
          this.resolveCaughtUp(message.caughtUp.position);
          this.options.onCaughtUp?.(message.caughtUp.position);
        }
      });
      call.on("error", (error: grpc.ServiceError) => {
        this.call = null;
        resolve({ caughtUp, error: errorFromStatus(error), code: error.code });
      });
      // The server ends the stream when it shuts down: reconnect as after a drop.
      call.on("end", () => {
        this.call = null;
        resolve({ caughtUp });
      });
    });
  }

  private deliver(event: Event): void {
    if (event.position <= this.delivered) return;
    this.delivered = event.position;
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve({ value: event, done: false });
    else this.queue.push(event);
  }

  /** Cumulative: every event at or below `position` is done. */
  ack(position: number, options: { signal?: AbortSignal } = {}): Promise<Subscription> {
    return this.transport.ack(this.name, position, options);
  }

  /**
   * The event at `position` failed: the server sends it again, then what follows it, so
   * events after it that were not handed out yet are dropped here (they come again).
   */
  async nack(position: number, error = "", options: { signal?: AbortSignal } = {}): Promise<NackResult> {
    const result = await this.transport.nack(this.name, position, error, options);
    for (let index = this.queue.length - 1; index >= 0; index--) {
      if ((this.queue[index] as Event).position >= position) this.queue.splice(index, 1);
    }
    if (!result.parked) this.delivered = Math.min(this.delivered, position - 1);
    return result;
  }

  /** Drop the current stream as a network failure would (it reconnects); for tests and demos. */
  dropConnection(): void {
    this.call?.cancel();
  }

  private fail(error: Error): void {
    this.failure = error;
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }

  private finish(): void {
    this.closed = true;
    this.options.signal?.removeEventListener("abort", this.onAbort);
    for (const waiter of this.waiters.splice(0)) waiter.resolve({ value: undefined, done: true });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.call?.cancel();
    this.finish();
  }

  next(): Promise<IteratorResult<Event>> {
    const event = this.queue.shift();
    if (event !== undefined) return Promise.resolve({ value: event, done: false });
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
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
