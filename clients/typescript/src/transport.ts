/** The contract both transports (REST, gRPC) keep: one method per server operation, each
 * returning the client's values or throwing a FlipbookError. Paging, retries and ids live
 * in the Client above it. */

import type {
  AppendResult,
  Batch,
  CommitResult,
  CreateSubscriptionOptions,
  Erasure,
  Event,
  ExpectedVersion,
  FeedPage,
  NackResult,
  NewEvent,
  Page,
  Parked,
  Retention,
  RetentionPolicy,
  ScavengeReport,
  Snapshot,
  SnapshotInfo,
  State,
  StreamAppend,
  StreamInfo,
  StreamKind,
  Subscription,
  SubscriptionStart,
} from "./types.js";
import type { TimeInput } from "./time.js";

/** What a call carries besides its arguments. */
export interface CallContext {
  signal?: AbortSignal | undefined;
}

export interface AppendRequest {
  expectedVersion: ExpectedVersion;
  category?: string | undefined;
  kind?: StreamKind | undefined;
}

export interface ReadPageRequest {
  fromVersion?: number | undefined;
  toVersion?: number | undefined;
  since?: TimeInput | undefined;
  until?: TimeInput | undefined;
  direction: "forwards" | "backwards";
  limit: number;
  cursor?: string | null | undefined;
}

export interface ReadAllPageRequest {
  after: number;
  limit: number;
  categories: readonly string[];
  names: readonly string[];
}

export interface SetSnapshotRequest {
  label?: string | undefined;
  revision?: string | undefined;
  timestamp?: TimeInput | undefined;
  ttl?: number | undefined;
}

export type ParkedAction = "retry" | "skip" | "replay";

export interface Transport {
  readonly name: "rest" | "grpc";
  append(streamId: string, events: NewEvent[], request: AppendRequest, call: CallContext): Promise<AppendResult>;
  commit(appends: StreamAppend[], call: CallContext): Promise<CommitResult>;
  readPage(streamId: string, request: ReadPageRequest, call: CallContext): Promise<Page<Event>>;
  latest(streamId: string, call: CallContext): Promise<Event>;
  stream(streamId: string, call: CallContext): Promise<StreamInfo>;
  deleteStream(streamId: string, hard: boolean, call: CallContext): Promise<StreamInfo>;
  truncateStream(streamId: string, before: number, call: CallContext): Promise<StreamInfo>;
  streamRetention(streamId: string, call: CallContext): Promise<Retention>;
  setStreamRetention(streamId: string, policy: RetentionPolicy, call: CallContext): Promise<Retention>;
  clearStreamRetention(streamId: string, call: CallContext): Promise<Retention>;
  scavenge(request: { batch?: number | undefined; limit?: number | undefined }, call: CallContext): Promise<ScavengeReport>;
  erase(subject: string, call: CallContext): Promise<Erasure>;
  listStreams(
    request: { prefix?: string | undefined; category?: string | undefined; limit: number; cursor?: string | null | undefined },
    call: CallContext,
  ): Promise<Page<StreamInfo>>;
  readAllPage(request: ReadAllPageRequest, call: CallContext): Promise<FeedPage>;
  state(
    streamId: string,
    request: { version?: number | undefined; at?: TimeInput | undefined; knownAt?: TimeInput | undefined },
    call: CallContext,
  ): Promise<State>;
  setSnapshot(streamId: string, version: number, payload: unknown, request: SetSnapshotRequest, call: CallContext): Promise<Snapshot>;
  getSnapshot(
    streamId: string,
    request: { maxVersion?: number | undefined; revision?: string | undefined },
    call: CallContext,
  ): Promise<Snapshot>;
  listSnapshots(streamId: string, request: { revision?: string | undefined }, call: CallContext): Promise<SnapshotInfo[]>;

  createSubscription(name: string, options: Omit<CreateSubscriptionOptions, "signal">, call: CallContext): Promise<Subscription>;
  getSubscription(name: string, call: CallContext): Promise<Subscription>;
  listSubscriptions(request: { limit?: number | undefined; cursor?: string | null | undefined }, call: CallContext): Promise<Page<Subscription>>;
  deleteSubscription(name: string, call: CallContext): Promise<void>;
  next(name: string, request: { max: number; waitSeconds: number }, call: CallContext): Promise<Batch>;
  ack(name: string, position: number, call: CallContext): Promise<Subscription>;
  nack(name: string, position: number, error: string, call: CallContext): Promise<NackResult>;
  resetSubscription(name: string, to: SubscriptionStart, call: CallContext): Promise<Subscription>;
  pauseSubscription(name: string, call: CallContext): Promise<Subscription>;
  resumeSubscription(name: string, call: CallContext): Promise<Subscription>;
  listParked(name: string, request: { limit?: number | undefined; cursor?: string | null | undefined }, call: CallContext): Promise<Page<Parked>>;
  parkedAction(name: string, position: number, action: ParkedAction, call: CallContext): Promise<Parked | Subscription>;

  close(): void;
}
