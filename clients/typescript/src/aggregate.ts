/** Event-sourced aggregates: `Aggregate` folds its stream's events; `Repository` loads one
 * (newest snapshot + later events), saves with the expected version (optimistic
 * concurrency), retries commands on conflict and writes snapshots every N versions. */

import type { Client } from "./client.js";
import { NotFound, ValidationError, VersionConflict } from "./errors.js";
import { sleep } from "./retry.js";
import type { TimeInput } from "./time.js";
import type { AppendResult, CallOptions, Event, JsonObject, NewEvent } from "./types.js";

/** What an aggregate applies: a stored event, or one it just recorded. */
export type AppliedEvent = Pick<Event, "name" | "payload" | "metadata" | "version"> & {
  timestamp: string | Date | null;
};

/** The state of one stream, rebuilt by applying its events in version order. */
export abstract class Aggregate {
  readonly id: string;
  /** The version of the last event applied (0: a new stream). */
  version = 0;
  #pending: NewEvent[] = [];
  #savedVersion = 0;

  constructor(id: string) {
    this.id = id;
  }

  /** Fold one event into the state. Throw for an event name the aggregate does not know. */
  protected abstract apply(event: AppliedEvent): void;

  /** Apply a stored or recorded event and advance the version. */
  applyEvent(event: AppliedEvent): void {
    this.apply(event);
    if (event.version !== null) this.version = event.version;
  }

  /**
   * Record a new event: applied now, appended by the next `Repository.save`. It gets a random
   * UUID unless `id` is given, so a save retried after a lost answer is not stored twice.
   */
  protected record(
    name: string,
    payload: unknown = null,
    options: { metadata?: JsonObject; timestamp?: TimeInput; id?: string } = {},
  ): void {
    const event: NewEvent = { name, payload, id: options.id ?? globalThis.crypto.randomUUID() };
    if (options.metadata !== undefined) event.metadata = options.metadata;
    if (options.timestamp !== undefined) event.timestamp = options.timestamp;
    this.applyEvent({ name, payload, metadata: options.metadata ?? {}, version: this.version + 1, timestamp: options.timestamp ?? null });
    this.#pending.push(event);
  }

  /** Events recorded since the aggregate was loaded or saved. */
  get pendingEvents(): readonly NewEvent[] {
    return [...this.#pending];
  }

  /** The version the stream had when loaded or last saved: the expected version of the next save. */
  get savedVersion(): number {
    return this.#savedVersion;
  }

  /** Mark the pending events stored (the stream is now at `version`). */
  markSaved(version: number): void {
    this.#pending = [];
    this.#savedVersion = version;
    this.version = version;
  }

  /** The state kept in snapshots: by default every own field but `id` and `version` (JSON values only). */
  snapshotState(): unknown {
    const { id: _id, version: _version, ...state } = this as unknown as Record<string, unknown>;
    return state;
  }

  /** Restore the state a snapshot kept (the default matches `snapshotState`). */
  restoreState(state: unknown): void {
    if (typeof state === "object" && state !== null) Object.assign(this, state);
  }
}

/** A class of aggregates: `new (id)`, with the stream category and snapshot revision. */
export interface AggregateClass<A extends Aggregate> {
  new (id: string): A;
  /** Set on the stream's first append. */
  readonly category?: string;
  /** Names the shape of the state: change it when apply methods change, and older snapshots are ignored. */
  readonly snapshotRevision?: string;
}

export interface RepositoryOptions {
  /** Store a snapshot when a save crosses a multiple of this many versions (default: never). */
  snapshotEvery?: number;
}

export interface ExecuteOptions extends CallOptions {
  /** Run the command again this many more times after a VersionConflict (default 0). */
  retries?: number;
  /** The first backoff between tries in milliseconds, jittered and growing (default 10). */
  backoffMs?: number;
}

/** Loads and saves aggregates of one class through a Client. */
export class Repository<A extends Aggregate> {
  readonly revision: string;

  constructor(
    readonly client: Client,
    readonly type: AggregateClass<A>,
    readonly options: RepositoryOptions = {},
  ) {
    if (options.snapshotEvery !== undefined && !(Number.isInteger(options.snapshotEvery) && options.snapshotEvery > 0)) {
      throw new ValidationError("snapshotEvery must be an integer >= 1", { details: { field: "snapshotEvery" } });
    }
    this.revision = `sdk:${type.name}:${type.snapshotRevision ?? "1"}`;
  }

  /** The aggregate at the stream's head: a new one (version 0) when the stream has no events. */
  async load(id: string, options: CallOptions = {}): Promise<A> {
    const aggregate = new this.type(id);
    let fromVersion = 1;
    if (this.options.snapshotEvery !== undefined) {
      try {
        const snapshot = await this.client.snapshots.get(id, { revision: this.revision, ...signalOf(options) });
        aggregate.restoreState(snapshot.payload);
        aggregate.version = snapshot.version;
        fromVersion = snapshot.version + 1;
      } catch (error) {
        if (!(error instanceof NotFound)) throw error;
      }
    }
    for await (const event of this.client.read(id, { fromVersion, ...signalOf(options) })) {
      aggregate.applyEvent(event);
    }
    aggregate.markSaved(aggregate.version);
    return aggregate;
  }

  /**
   * Append each aggregate's pending events, checked against the version it was loaded at;
   * several aggregates go in one atomic commit. Throws VersionConflict when another writer
   * got there first (nothing is stored then).
   */
  async save(aggregates: A | readonly A[], options: CallOptions = {}): Promise<AppendResult[]> {
    const list = (Array.isArray(aggregates) ? aggregates : [aggregates]) as readonly A[];
    const dirty = list.filter((aggregate) => aggregate.pendingEvents.length > 0);
    if (dirty.length === 0) return [];
    const category = this.type.category;
    let results: AppendResult[];
    if (dirty.length === 1) {
      const [aggregate] = dirty as [A];
      results = [
        await this.client.append(aggregate.id, aggregate.pendingEvents, {
          expectedVersion: aggregate.savedVersion,
          ...(category !== undefined ? { category } : {}),
          ...signalOf(options),
        }),
      ];
    } else {
      const commit = await this.client.commit(
        dirty.map((aggregate) => ({
          streamId: aggregate.id,
          events: [...aggregate.pendingEvents],
          expectedVersion: aggregate.savedVersion,
          ...(category !== undefined ? { category } : {}),
        })),
        signalOf(options),
      );
      results = commit.streams;
    }
    for (const [index, aggregate] of dirty.entries()) {
      const savedFrom = aggregate.savedVersion;
      aggregate.markSaved(results[index]?.version ?? aggregate.version);
      await this.maybeSnapshot(aggregate, savedFrom, options);
    }
    return results;
  }

  /**
   * Load the aggregate(s), run `command` on them, save. On a VersionConflict, load again and
   * run the command again, up to `retries` more times; the last conflict is thrown.
   */
  async execute<R>(ids: string | readonly string[], command: (...aggregates: A[]) => R | Promise<R>, options: ExecuteOptions = {}): Promise<R> {
    const retries = options.retries ?? 0;
    if (!(Number.isInteger(retries) && retries >= 0)) throw new ValidationError("retries must be an integer >= 0", { details: { field: "retries" } });
    const list = typeof ids === "string" ? [ids] : [...ids];
    for (let attempt = 0; ; attempt++) {
      const aggregates = await Promise.all(list.map((id) => this.load(id, options)));
      const result = await command(...aggregates);
      try {
        await this.save(aggregates, options);
        return result;
      } catch (error) {
        if (!(error instanceof VersionConflict) || attempt >= retries) throw error;
        const base = options.backoffMs ?? 10;
        await sleep(base * (attempt + 1) * (0.5 + Math.random()), options.signal);
      }
    }
  }

  private async maybeSnapshot(aggregate: A, savedFrom: number, options: CallOptions): Promise<void> {
    const every = this.options.snapshotEvery;
    if (every === undefined || Math.floor(aggregate.version / every) <= Math.floor(savedFrom / every)) return;
    try {
      await this.client.snapshots.set(aggregate.id, aggregate.version, aggregate.snapshotState(), {
        revision: this.revision,
        ...signalOf(options),
      });
    } catch {
      // The events are stored: a snapshot is an optimisation, and the next save tries again.
    }
  }
}

function signalOf(options: CallOptions): { signal?: AbortSignal } {
  return options.signal ? { signal: options.signal } : {};
}
