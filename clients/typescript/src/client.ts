/** The Flipbook client: one interface over the REST and gRPC transports, with paging
 * iterators, retries of idempotent calls and AbortSignal support. */

import { ValidationError } from "./errors.js";
import { RestTransport, type RestOptions } from "./rest.js";
import { DEFAULT_RETRY, type RetryOptions, withRetries } from "./retry.js";
import type { CallContext, ParkedAction, Transport } from "./transport.js";
import type {
  AppendOptions,
  AppendResult,
  Batch,
  CallOptions,
  CommitResult,
  CreateSubscriptionOptions,
  Erasure,
  Event,
  FeedPage,
  GetSnapshotOptions,
  ListStreamsOptions,
  NackResult,
  NewEvent,
  Page,
  Parked,
  ReadAllOptions,
  ReadOptions,
  Retention,
  RetentionPolicy,
  ScavengeOptions,
  ScavengeReport,
  SetSnapshotOptions,
  Snapshot,
  SnapshotInfo,
  State,
  StateOptions,
  StreamAppend,
  StreamInfo,
  Subscription,
  SubscriptionStart,
} from "./types.js";

export const DEFAULT_PAGE_SIZE = 1000;

export interface ClientOptions {
  /** Retries of idempotent calls on Unavailable (reads, and writes whose events all carry ids). */
  retry?: RetryOptions;
  /**
   * Give every new event without an id a random UUID (default true), so that a write retried
   * after a lost answer is recognised by the server as a duplicate instead of stored twice.
   * With false, writes of events without ids are never retried.
   */
  autoEventIds?: boolean;
}

export interface RestClientOptions extends RestOptions, ClientOptions {}

function newId(): string {
  return globalThis.crypto.randomUUID();
}

function positive(value: number | undefined, field: string, fallback: number): number {
  const result = value ?? fallback;
  if (!Number.isInteger(result) || result < 1) {
    throw new ValidationError(`${field} must be an integer >= 1, not ${String(value)}`, { details: { field } });
  }
  return result;
}

/** A connection to a Flipbook server. Every method throws a FlipbookError subclass on refusal. */
export class Client {
  readonly transport: Transport;
  readonly snapshots: Snapshots;
  readonly subscriptions: Subscriptions;
  private readonly retry: Required<RetryOptions>;
  private readonly autoEventIds: boolean;

  constructor(transport: Transport, options: ClientOptions = {}) {
    this.transport = transport;
    this.retry = { ...DEFAULT_RETRY, ...(options.retry ?? {}) };
    this.autoEventIds = options.autoEventIds ?? true;
    this.snapshots = new Snapshots(this);
    this.subscriptions = new Subscriptions(this);
  }

  /** Run one transport call, retried on Unavailable when it is idempotent. */
  call<T>(idempotent: boolean, signal: AbortSignal | undefined, run: (call: CallContext) => Promise<T>): Promise<T> {
    return withRetries(() => run({ signal }), idempotent, this.retry, signal);
  }

  /** Close the transport's connections (the gRPC channel). */
  close(): void {
    this.transport.close();
  }

  private withIds(events: readonly NewEvent[]): { events: NewEvent[]; idempotent: boolean } {
    if (events.length === 0) throw new ValidationError("events must hold at least one event", { details: { field: "events" } });
    const withIds = this.autoEventIds ? events.map((event) => (event.id ? event : { ...event, id: newId() })) : [...events];
    return { events: withIds, idempotent: withIds.every((event) => Boolean(event.id)) };
  }

  // -- writing ---------------------------------------------------------------------------

  /**
   * Append events to one stream after checking `expectedVersion` (default "any"; a number N:
   * the stream must be at N, 0 or "no_stream": it must not exist; "exists"). Throws
   * VersionConflict (with `currentVersion`) when the check fails.
   */
  append(streamId: string, events: readonly NewEvent[], options: AppendOptions = {}): Promise<AppendResult> {
    const { events: sent, idempotent } = this.withIds(events);
    const request = { expectedVersion: options.expectedVersion ?? "any", category: options.category, kind: options.kind };
    return this.call(idempotent, options.signal, (call) => this.transport.append(streamId, sent, request, call));
  }

  /** Append to several streams atomically: all stored, or none. */
  commit(appends: readonly StreamAppend[], options: CallOptions = {}): Promise<CommitResult> {
    if (appends.length === 0) throw new ValidationError("a commit needs at least one stream", { details: { field: "streams" } });
    let idempotent = true;
    const sent = appends.map((append) => {
      const prepared = this.withIds(append.events);
      idempotent &&= prepared.idempotent;
      return { ...append, events: prepared.events };
    });
    return this.call(idempotent, options.signal, (call) => this.transport.commit(sent, call));
  }

  // -- reading ---------------------------------------------------------------------------

  /** One page of a stream's events; pass `nextCursor` back as `cursor` with the same options. */
  readPage(streamId: string, options: ReadOptions & { limit?: number; cursor?: string | null } = {}): Promise<Page<Event>> {
    const request = {
      fromVersion: options.fromVersion,
      toVersion: options.toVersion,
      since: options.since,
      until: options.until,
      direction: options.direction ?? "forwards",
      limit: positive(options.limit ?? options.pageSize, "limit", DEFAULT_PAGE_SIZE),
      cursor: options.cursor,
    };
    return this.call(true, options.signal, (call) => this.transport.readPage(streamId, request, call));
  }

  /** Every selected event of a stream, a page (`pageSize`) at a time. */
  async *read(streamId: string, options: ReadOptions = {}): AsyncGenerator<Event, void, undefined> {
    let cursor: string | null = null;
    do {
      const page: Page<Event> = await this.readPage(streamId, { ...options, cursor });
      yield* page.items;
      cursor = page.nextCursor;
    } while (cursor !== null);
  }

  /** The last event of a stream; NotFound when it has none. */
  latest(streamId: string, options: CallOptions = {}): Promise<Event> {
    return this.call(true, options.signal, (call) => this.transport.latest(streamId, call));
  }

  /** The head of a stream ("version 0"); NotFound when it has no events. */
  stream(streamId: string, options: CallOptions = {}): Promise<StreamInfo> {
    return this.call(true, options.signal, (call) => this.transport.stream(streamId, call));
  }

  /**
   * Delete a stream: soft (reads answer NotFound until an append starts it again, its
   * versions continuing) or `hard` (a tombstone: reads and appends raise StreamDeleted for
   * ever). Returns the head as it was. Not retried: a second soft delete answers NotFound.
   */
  deleteStream(streamId: string, options: CallOptions & { hard?: boolean } = {}): Promise<StreamInfo> {
    const hard = options.hard ?? false;
    return this.call(false, options.signal, (call) => this.transport.deleteStream(streamId, hard, call));
  }

  /** Hide a stream's events below version `before` (a position on version-neutral streams). */
  truncateStream(streamId: string, before: number, options: CallOptions = {}): Promise<StreamInfo> {
    return this.call(true, options.signal, (call) => this.transport.truncateStream(streamId, before, call));
  }

  /**
   * The retention policy a scavenge applies to a stream: its own (`source` "stream"), else its
   * category's ("category"), else none ("none").
   */
  streamRetention(streamId: string, options: CallOptions = {}): Promise<Retention> {
    return this.call(true, options.signal, (call) => this.transport.streamRetention(streamId, call));
  }

  /**
   * Give a stream its own retention policy, replacing its category's: keep events at most
   * `maxAge` seconds and/or only the newest `maxCount` (at least one, each a positive integer,
   * else ValidationError). A scavenge applies it.
   */
  setStreamRetention(streamId: string, policy: RetentionPolicy, options: CallOptions = {}): Promise<Retention> {
    return this.call(true, options.signal, (call) => this.transport.setStreamRetention(streamId, policy, call));
  }

  /** Remove a stream's own retention policy; returns the one that applies now. NotFound if it had none. */
  clearStreamRetention(streamId: string, options: CallOptions = {}): Promise<Retention> {
    return this.call(false, options.signal, (call) => this.transport.clearStreamRetention(streamId, call));
  }

  /**
   * Ask the server to scavenge (apply retention, remove what deletes and truncations hid). One
   * request removes at most `limit` events (the server caps it): repeat while not `complete`.
   * Needs an admin key valid for every stream.
   */
  scavenge(options: ScavengeOptions = {}): Promise<ScavengeReport> {
    const request = { batch: options.batch, limit: options.limit };
    return this.call(true, options.signal, (call) => this.transport.scavenge(request, call));
  }

  /**
   * Erase a subject's personal data by destroying its data keys (cannot be undone). NotFound
   * when nothing is stored for it. Needs an admin key valid for every stream. Not retried.
   */
  erase(subject: string, options: CallOptions = {}): Promise<Erasure> {
    return this.call(false, options.signal, (call) => this.transport.erase(subject, call));
  }

  /** Stream heads by id, filtered by id prefix and category. */
  async *listStreams(options: ListStreamsOptions = {}): AsyncGenerator<StreamInfo, void, undefined> {
    const limit = positive(options.pageSize, "pageSize", 100);
    let cursor: string | null = null;
    do {
      const request = { prefix: options.prefix, category: options.category, limit, cursor };
      const page: Page<StreamInfo> = await this.call(true, options.signal, (call) => this.transport.listStreams(request, call));
      yield* page.items;
      cursor = page.nextCursor;
    } while (cursor !== null);
  }

  /** One page of the all-feed after `after`; continue from `nextAfter`. */
  readAllPage(options: ReadAllOptions & { limit?: number } = {}): Promise<FeedPage> {
    const request = {
      after: options.after ?? 0,
      limit: positive(options.limit ?? options.pageSize, "limit", DEFAULT_PAGE_SIZE),
      categories: options.categories ?? [],
      names: options.names ?? [],
    };
    return this.call(true, options.signal, (call) => this.transport.readAllPage(request, call));
  }

  /** The all-feed in position order after `after`, up to the events that exist now. */
  async *readAll(options: ReadAllOptions = {}): AsyncGenerator<Event, void, undefined> {
    const limit = positive(options.pageSize, "pageSize", DEFAULT_PAGE_SIZE);
    let after = options.after ?? 0;
    for (;;) {
      const page = await this.readAllPage({ ...options, after, limit });
      yield* page.events;
      const moved = page.nextAfter > after;
      after = Math.max(after, page.nextAfter);
      if (page.events.length < limit || !moved) return;
    }
  }

  /** The reduced state as of a version or a natural time (the latest by default). */
  state(streamId: string, options: StateOptions = {}): Promise<State> {
    if (options.version !== undefined && options.at !== undefined) {
      throw new ValidationError("give version or at, not both", { details: { field: "at" } });
    }
    const request = { version: options.version, at: options.at, knownAt: options.knownAt };
    return this.call(true, options.signal, (call) => this.transport.state(streamId, request, call));
  }
}

/** The snapshot store: `client.snapshots`. */
export class Snapshots {
  constructor(private readonly client: Client) {}

  /** Store a state of a stream at a version (replaces one of the same version and revision). */
  set(streamId: string, version: number, payload: unknown, options: SetSnapshotOptions = {}): Promise<Snapshot> {
    const request = { label: options.label, revision: options.revision, timestamp: options.timestamp, ttl: options.ttl };
    return this.client.call(true, options.signal, (call) => this.client.transport.setSnapshot(streamId, version, payload, request, call));
  }

  /** The newest snapshot, at or before `maxVersion` when given; NotFound when there is none. */
  get(streamId: string, options: GetSnapshotOptions = {}): Promise<Snapshot> {
    const request = { maxVersion: options.maxVersion, revision: options.revision };
    return this.client.call(true, options.signal, (call) => this.client.transport.getSnapshot(streamId, request, call));
  }

  /** Every snapshot of the stream, without payloads (REST only). */
  list(streamId: string, options: { revision?: string; signal?: AbortSignal } = {}): Promise<SnapshotInfo[]> {
    return this.client.call(true, options.signal, (call) =>
      this.client.transport.listSnapshots(streamId, { revision: options.revision }, call),
    );
  }
}

export interface NextOptions extends CallOptions {
  /** At most this many events (default 100). */
  max?: number;
  /** Seconds to wait when there is nothing to deliver (0 to 30, default 0). */
  waitSeconds?: number;
}

/** Durable subscriptions: `client.subscriptions`. */
export class Subscriptions {
  constructor(private readonly client: Client) {}

  private get transport(): Transport {
    return this.client.transport;
  }

  /** Create a named subscription; AlreadyExists when the name is taken. */
  create(name: string, options: CreateSubscriptionOptions = {}): Promise<Subscription> {
    const { signal, ...rest } = options;
    return this.client.call(false, signal, (call) => this.transport.createSubscription(name, rest, call));
  }

  get(name: string, options: CallOptions = {}): Promise<Subscription> {
    return this.client.call(true, options.signal, (call) => this.transport.getSubscription(name, call));
  }

  async *list(options: { pageSize?: number; signal?: AbortSignal } = {}): AsyncGenerator<Subscription, void, undefined> {
    let cursor: string | null = null;
    do {
      const request = { limit: options.pageSize, cursor };
      const page: Page<Subscription> = await this.client.call(true, options.signal, (call) => this.transport.listSubscriptions(request, call));
      yield* page.items;
      cursor = page.nextCursor;
    } while (cursor !== null);
  }

  delete(name: string, options: CallOptions = {}): Promise<void> {
    return this.client.call(false, options.signal, (call) => this.transport.deleteSubscription(name, call));
  }

  /** The next batch after the checkpoint (unacknowledged events come again: at-least-once). */
  next(name: string, options: NextOptions = {}): Promise<Batch> {
    const waitSeconds = options.waitSeconds ?? 0;
    if (!(waitSeconds >= 0 && waitSeconds <= 30)) {
      throw new ValidationError("waitSeconds must be from 0 to 30", { details: { field: "waitSeconds" } });
    }
    const request = { max: positive(options.max, "max", 100), waitSeconds };
    // Asking again redelivers what was not acknowledged, as at-least-once delivery does anyway.
    return this.client.call(true, options.signal, (call) => this.transport.next(name, request, call));
  }

  /** Cumulative: every event at or below `position` is done. */
  ack(name: string, position: number, options: CallOptions = {}): Promise<Subscription> {
    return this.client.call(true, options.signal, (call) => this.transport.ack(name, position, call));
  }

  /** The event at `position` failed: it comes again, and is parked after `maxAttempts` failures. */
  nack(name: string, position: number, error = "", options: CallOptions = {}): Promise<NackResult> {
    return this.client.call(false, options.signal, (call) => this.transport.nack(name, position, error, call));
  }

  reset(name: string, to: SubscriptionStart, options: CallOptions = {}): Promise<Subscription> {
    return this.client.call(true, options.signal, (call) => this.transport.resetSubscription(name, to, call));
  }

  /** Pause delivery (`next` answers empty batches, push and streams send nothing) until
   * `resume`; the checkpoint stays. Needs write scope. */
  pause(name: string, options: CallOptions = {}): Promise<Subscription> {
    return this.client.call(true, options.signal, (call) => this.transport.pauseSubscription(name, call));
  }

  /** Resume delivery of a paused subscription from its checkpoint. Needs write scope. */
  resume(name: string, options: CallOptions = {}): Promise<Subscription> {
    return this.client.call(true, options.signal, (call) => this.transport.resumeSubscription(name, call));
  }

  async *parked(name: string, options: { pageSize?: number; signal?: AbortSignal } = {}): AsyncGenerator<Parked, void, undefined> {
    let cursor: string | null = null;
    do {
      const request = { limit: options.pageSize, cursor };
      const page: Page<Parked> = await this.client.call(true, options.signal, (call) => this.transport.listParked(name, request, call));
      yield* page.items;
      cursor = page.nextCursor;
    } while (cursor !== null);
  }

  retryParked(name: string, position: number, options: CallOptions = {}): Promise<Parked> {
    return this.parkedAction(name, position, "retry", options) as Promise<Parked>;
  }

  skipParked(name: string, position: number, options: CallOptions = {}): Promise<Subscription> {
    return this.parkedAction(name, position, "skip", options) as Promise<Subscription>;
  }

  replayParked(name: string, position: number, options: CallOptions = {}): Promise<Subscription> {
    return this.parkedAction(name, position, "replay", options) as Promise<Subscription>;
  }

  private parkedAction(name: string, position: number, action: ParkedAction, options: CallOptions): Promise<Parked | Subscription> {
    return this.client.call(false, options.signal, (call) => this.transport.parkedAction(name, position, action, call));
  }

  /**
   * Pull and handle a subscription's events until `signal` fires: each event is passed to
   * `handle`, acknowledged when it returns, nacked (with the error's message) when it throws,
   * after which the batch is pulled again (the nacked event comes first).
   */
  async consume(
    name: string,
    handle: (event: Event) => Promise<void> | void,
    options: { signal?: AbortSignal; max?: number; waitSeconds?: number } = {},
  ): Promise<void> {
    const { signal } = options;
    while (!signal?.aborted) {
      let batch: Batch;
      try {
        batch = await this.next(name, { max: options.max ?? 100, waitSeconds: options.waitSeconds ?? 5, ...(signal ? { signal } : {}) });
      } catch (error) {
        if (signal?.aborted) return;
        throw error;
      }
      for (const event of batch.events) {
        try {
          await handle(event);
        } catch (error) {
          await this.nack(name, event.position, error instanceof Error ? error.message : String(error));
          break;
        }
        await this.ack(name, event.position);
      }
    }
  }
}

/** A client of the REST API at `url` (`http://127.0.0.1:8000`); works in Node 20+ and browsers. */
export function createClient(url: string, options: RestClientOptions = {}): Client {
  return new Client(new RestTransport(url, options), options);
}
