/** The client's values: events, results, stream heads, states, snapshots, subscriptions. */

import type { TimeInput } from "./time.js";

export type JsonObject = Record<string, unknown>;

/** An event as stored. Times are RFC 3339 text in UTC with microseconds. */
export interface Event {
  streamId: string;
  /** null on version-neutral streams. */
  version: number | null;
  /** The natural time; null: a time-neutral event. */
  timestamp: string | null;
  name: string;
  payload: unknown;
  metadata: JsonObject;
  id: string;
  /** The store-wide order (the all-feed). */
  position: number;
  recordedAt: string;
}

/** An event as a client proposes it. */
export interface NewEvent {
  name: string;
  payload?: unknown;
  metadata?: JsonObject;
  /** The natural time; absent or null: time-neutral. */
  timestamp?: TimeInput | null;
  /** A UUID chosen for idempotent re-sends; the store makes one otherwise. */
  id?: string;
  /** An explicit version: on every event of the append or on none. */
  version?: number;
}

/**
 * What the stream must be at: exactly version N (0 or "no_stream": it must not exist yet),
 * "any" (no check) or "exists" (it must have events).
 */
export type ExpectedVersion = number | "any" | "exists" | "no_stream";

export type StreamKind = "versioned" | "neutral";

export interface AppendOptions {
  expectedVersion?: ExpectedVersion;
  /** Set on the stream's first append. */
  category?: string;
  /** Declared on the first append (default versioned). */
  kind?: StreamKind;
  signal?: AbortSignal;
}

/**
 * Where one appended event was stored. The server does not send the name, payload, metadata
 * or timestamp back: the caller sent them.
 */
export interface AppendedEvent {
  /** The event's UUID (the client's own or one the store made). */
  id: string;
  /** null on version-neutral streams. */
  version: number | null;
  /** The store-wide order (the all-feed). */
  position: number;
  recordedAt: string;
}

export interface AppendResult {
  streamId: string;
  /** The stream's version after the append; null on version-neutral streams. */
  version: number | null;
  /** True when this was an identical re-send: nothing new was stored. */
  duplicate: boolean;
  /** In the order sent; pair them with the events you sent when you need their payloads. */
  events: AppendedEvent[];
  firstVersion: number | null;
  lastVersion: number | null;
}

/** One stream's part of an atomic commit. */
export interface StreamAppend {
  streamId: string;
  events: NewEvent[];
  expectedVersion?: ExpectedVersion;
  category?: string;
  kind?: StreamKind;
}

export interface CommitResult {
  duplicate: boolean;
  /** The highest position the commit stored. */
  lastPosition: number;
  /** Per stream, in request order. */
  streams: AppendResult[];
}

export type Direction = "forwards" | "backwards";

export interface ReadOptions {
  /** Inclusive version bounds (positions on version-neutral streams). */
  fromVersion?: number;
  toVersion?: number;
  /** Inclusive natural-time bounds; either one reads by time and leaves time-neutral events out. */
  since?: TimeInput;
  until?: TimeInput;
  direction?: Direction;
  /** Events per request while iterating (default 1000). */
  pageSize?: number;
  signal?: AbortSignal;
}

export interface Page<T> {
  items: T[];
  /** Pass back as `cursor` for the next page; null: no more now. */
  nextCursor: string | null;
}

export interface ReadAllOptions {
  /** Events with a position above this one (default 0: from the start). */
  after?: number;
  categories?: readonly string[];
  names?: readonly string[];
  /** Events per request while iterating (default 1000). */
  pageSize?: number;
  signal?: AbortSignal;
}

export interface FeedPage {
  events: Event[];
  /** Pass as `after` to continue; it moves past filtered-out events too. */
  nextAfter: number;
}

/** The head of a stream ("version 0"). */
export interface StreamInfo {
  streamId: string;
  kind: StreamKind;
  category: string | null;
  version: number | null;
  eventCount: number;
  firstRecordedAt: string;
  lastRecordedAt: string;
  lastPosition: number;
  metadata: JsonObject;
}

/** The retention policy a scavenge applies to a stream: its own, its category's, or none. */
export interface Retention {
  streamId: string;
  source: "stream" | "category" | "none";
  /** Seconds an event is kept after it was recorded. */
  maxAge: number | null;
  /** How many of the newest events are kept. */
  maxCount: number | null;
  category: string | null;
  /** When the stream's own policy was set. */
  updatedAt: string | null;
}

export interface RetentionPolicy {
  maxAge?: number;
  maxCount?: number;
}

/** What one scavenge request did; `complete` false: it stopped at its limit. */
export interface ScavengeReport {
  truncatedStreams: number;
  scavengedStreams: number;
  removedEvents: number;
  complete: boolean;
}

export interface ScavengeOptions {
  /** Events per write (the server's FLIPBOOK_SCAVENGE_BATCH by default). */
  batch?: number;
  /** Stop after removing this many events (the server caps it). */
  limit?: number;
  signal?: AbortSignal;
}

/** What an erasure of a subject's personal data did; `auditId`: its audit record. */
export interface Erasure {
  subject: string;
  keysDestroyed: number;
  streams: number;
  snapshotsDropped: number;
  erasedAt: string | null;
  erasedBy: string;
  auditId: number;
}

export interface ListStreamsOptions {
  prefix?: string;
  category?: string;
  pageSize?: number;
  signal?: AbortSignal;
}

export interface SnapshotInfo {
  streamId: string;
  version: number;
  /** The reducer revision that made it, or "client". */
  revision: string;
  timestamp: string | null;
  label: string;
  recordedAt: string | null;
  createdAt: string | null;
  expiresAt: string | null;
}

export interface Snapshot extends SnapshotInfo {
  payload: unknown;
}

export interface SetSnapshotOptions {
  label?: string;
  /** What made the state (default "client"); states are served from it only when it equals the reducer's revision. */
  revision?: string;
  timestamp?: TimeInput;
  /** Seconds to keep it; absent: the store's default. */
  ttl?: number;
  signal?: AbortSignal;
}

export interface GetSnapshotOptions {
  /** At or before this version; absent: the latest. */
  maxVersion?: number;
  revision?: string;
  signal?: AbortSignal;
}

export interface StateOptions {
  /** The state as of this version (absent: the latest). */
  version?: number;
  /** The state as of this natural time. */
  at?: TimeInput;
  /** With `at`: count only events the store had recorded by then. */
  knownAt?: TimeInput;
  signal?: AbortSignal;
}

export interface State {
  streamId: string;
  /** The version of the last event folded in (0: none); null on version-neutral streams. */
  version: number | null;
  state: unknown;
  category: string | null;
  reducer: string;
  revision: string;
  snapshot: SnapshotInfo | null;
  eventsRead: number;
  eventsApplied: number;
  timestamp: string | null;
  recordedAt: string | null;
  at: string | null;
  knownAt: string | null;
}

// -- durable subscriptions ---------------------------------------------------------------

export interface SubscriptionFilter {
  category?: string | null;
  streamId?: string | null;
  names?: string[];
}

export type SubscriptionStart = "beginning" | "end" | { after: number };

export interface PushEndpoint {
  kind: "webhook" | "grpc";
  url?: string;
  target?: string;
}

export interface CreateSubscriptionOptions {
  filter?: SubscriptionFilter;
  start?: SubscriptionStart;
  maxAttempts?: number;
  push?: PushEndpoint;
  signal?: AbortSignal;
}

export type SubscriptionStatus = "live" | "behind" | "stalled" | "idle" | "paused";

export interface Subscription {
  name: string;
  filter: SubscriptionFilter;
  checkpoint: number;
  headPosition: number;
  lag: number;
  lagCapped: boolean;
  status: SubscriptionStatus;
  lastHeartbeat: string | null;
  parked: number;
  maxAttempts: number;
  push: PushEndpoint | null;
  createdAt: string;
  retryPosition: number | null;
  retryAttempts: number;
  lastError: string;
  /** An operator paused it: nothing is delivered until it is resumed. */
  paused: boolean;
}

export interface Batch {
  events: Event[];
  checkpoint: number;
}

export interface NackResult {
  position: number;
  attempts: number;
  parked: boolean;
  checkpoint: number;
}

export interface Parked {
  position: number;
  streamId: string;
  version: number | null;
  name: string;
  eventId: string;
  error: string;
  attempts: number;
  parkedAt: string;
  status: "parked" | "retry" | "sent";
}

/** Options every call takes. */
export interface CallOptions {
  signal?: AbortSignal;
}
