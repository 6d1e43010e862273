/** The gRPC transport (Node): flipbook.v1 over @grpc/grpc-js with the message types and
 * clients ts-proto generates from proto/flipbook/v1/eventstore.proto. */

import * as grpc from "@grpc/grpc-js";
import {
  Aborted,
  AlreadyExists,
  FlipbookError,
  InternalError,
  NotFound,
  PermissionDenied,
  TooLarge,
  Unauthenticated,
  Unavailable,
  Unsupported,
  ValidationError,
  VersionConflict,
  errorFromBody,
} from "../errors.js";
import * as pb from "../generated/flipbook/v1/eventstore.js";
import {
  appendMessage,
  appendResult,
  eventOf,
  json,
  jsonBytes,
  parked,
  retention,
  snapshot,
  snapshotInfo,
  startMessage,
  streamInfo,
  subscription,
  timeOf,
  timestamp,
} from "./messages.js";
import type { TimeInput } from "../time.js";
import type {
  AppendRequest,
  CallContext,
  ParkedAction,
  ReadAllPageRequest,
  ReadPageRequest,
  SetSnapshotRequest,
  Transport,
} from "../transport.js";
import type {
  AppendResult,
  Batch,
  CommitResult,
  CreateSubscriptionOptions,
  Erasure,
  Event,
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
  Subscription,
  SubscriptionStart,
} from "../types.js";

export interface TlsOptions {
  /** PEM of the CA(s) to trust; default: the system's roots. */
  rootCerts?: string | Buffer;
  /** Client certificate and key (PEM) for mutual TLS. */
  certChain?: string | Buffer;
  privateKey?: string | Buffer;
}

export interface GrpcOptions {
  apiKey?: string | undefined;
  /** TLS: true for the system roots, or the certificates to use; default plaintext (or TLS for grpcs://). */
  tls?: boolean | TlsOptions | undefined;
  /** Milliseconds a unary call may take (default 30000). */
  timeoutMs?: number | undefined;
  /** Extra channel options (grpc.max_receive_message_length, ...). */
  channelOptions?: grpc.ChannelOptions | undefined;
}

const ERRORS_BY_GRPC_STATUS = new Map<number, typeof FlipbookError>([
  [grpc.status.INVALID_ARGUMENT, ValidationError],
  [grpc.status.NOT_FOUND, NotFound],
  [grpc.status.FAILED_PRECONDITION, VersionConflict],
  [grpc.status.ALREADY_EXISTS, AlreadyExists],
  [grpc.status.RESOURCE_EXHAUSTED, TooLarge],
  [grpc.status.UNAUTHENTICATED, Unauthenticated],
  [grpc.status.PERMISSION_DENIED, PermissionDenied],
  [grpc.status.UNAVAILABLE, Unavailable],
  [grpc.status.DEADLINE_EXCEEDED, Unavailable],
  [grpc.status.INTERNAL, InternalError],
  [grpc.status.UNIMPLEMENTED, Unsupported],
]);

/** The FlipbookError of a gRPC status: the `flipbook-error-bin` trailer's body when sent. */
export function errorFromStatus(error: grpc.ServiceError | grpc.StatusObject, signal?: AbortSignal): FlipbookError {
  const statusName = (grpc.status[error.code] as string | undefined) ?? String(error.code);
  if (error.code === grpc.status.CANCELLED && signal?.aborted) {
    return new Aborted("the call was aborted", { status: statusName, cause: signal.reason });
  }
  // A status object made by the client itself (a cancelled call) may come without metadata.
  const metadata = error.metadata as grpc.Metadata | undefined;
  const trailer = metadata?.get("flipbook-error-bin")[0];
  const fallback = ERRORS_BY_GRPC_STATUS.get(error.code) ?? FlipbookError;
  if (trailer !== undefined) {
    try {
      const text = typeof trailer === "string" ? trailer : trailer.toString("utf8");
      return errorFromBody(JSON.parse(text), statusName, fallback);
    } catch {
      // Not JSON: fall through to the status alone.
    }
  }
  return new fallback(error.details || statusName, { status: statusName, code: fallback.code });
}

/** Parse `host:port`, `grpc://host:port` or `grpcs://host:port`. */
export function parseTarget(url: string): { target: string; tls: boolean } {
  const match = /^(grpcs?):\/\/(.+?)\/?$/i.exec(url);
  if (match) return { target: match[2] as string, tls: match[1]?.toLowerCase() === "grpcs" };
  if (/^[a-z]+:\/\//i.test(url)) {
    throw new ValidationError(`a gRPC target is host:port, grpc://host:port or grpcs://host:port, not ${JSON.stringify(url)}`, {
      details: { field: "url" },
    });
  }
  return { target: url, tls: false };
}

function credentials(tls: boolean | TlsOptions | undefined, implied: boolean): grpc.ChannelCredentials {
  if (tls === undefined ? !implied : tls === false) return grpc.credentials.createInsecure();
  const options = typeof tls === "object" ? tls : {};
  const buffer = (value: string | Buffer | undefined): Buffer | null =>
    value === undefined ? null : typeof value === "string" ? Buffer.from(value) : value;
  return grpc.credentials.createSsl(buffer(options.rootCerts), buffer(options.privateKey), buffer(options.certChain));
}

// -- conversions ---------------------------------------------------------------------------

export { eventOf } from "./messages.js";

type Unary<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: (error: grpc.ServiceError | null, response: Res) => void,
) => grpc.ClientUnaryCall;

type ServerStream<Req, Res> = (request: Req, metadata: grpc.Metadata, options: Partial<grpc.CallOptions>) => grpc.ClientReadableStream<Res>;

export class GrpcTransport implements Transport {
  readonly name = "grpc" as const;
  readonly target: string;
  readonly eventStore: pb.EventStoreClient;
  readonly subscriptions: pb.SubscriptionsClient;
  readonly snapshotStore: pb.SnapshotStoreClient;
  private readonly apiKey: string | undefined;
  private readonly timeoutMs: number;

  constructor(url: string, options: GrpcOptions = {}) {
    const { target, tls } = parseTarget(url);
    this.target = target;
    this.apiKey = options.apiKey;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    const creds = credentials(options.tls, tls);
    const channelOptions = { "grpc.max_receive_message_length": 64 * 1024 * 1024, ...(options.channelOptions ?? {}) };
    this.eventStore = new pb.EventStoreClient(target, creds, channelOptions);
    // The other services share the first client's channel.
    const channel = { channelOverride: this.eventStore.getChannel() };
    this.subscriptions = new pb.SubscriptionsClient(target, creds, channel);
    this.snapshotStore = new pb.SnapshotStoreClient(target, creds, channel);
  }

  close(): void {
    this.subscriptions.close();
    this.snapshotStore.close();
    this.eventStore.close();
  }

  metadata(): grpc.Metadata {
    const metadata = new grpc.Metadata();
    if (this.apiKey) metadata.set("authorization", `Bearer ${this.apiKey}`);
    return metadata;
  }

  private unary<Req, Res>(client: grpc.Client, method: Unary<Req, Res>, request: Req, call: CallContext, extraMs = 0): Promise<Res> {
    return new Promise((resolve, reject) => {
      if (call.signal?.aborted) {
        reject(new Aborted("the call was aborted", { cause: call.signal.reason }));
        return;
      }
      const deadline = new Date(Date.now() + this.timeoutMs + extraMs);
      const onAbort = (): void => pending.cancel();
      const pending = method.call(client, request, this.metadata(), { deadline }, (error, response) => {
        call.signal?.removeEventListener("abort", onAbort);
        if (error) reject(errorFromStatus(error, call.signal));
        else resolve(response);
      });
      call.signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Every message of a server-streaming call, collected. */
  private collect<Req, Res>(client: grpc.Client, method: ServerStream<Req, Res>, request: Req, call: CallContext): Promise<Res[]> {
    return new Promise((resolve, reject) => {
      if (call.signal?.aborted) {
        reject(new Aborted("the call was aborted", { cause: call.signal.reason }));
        return;
      }
      const items: Res[] = [];
      const stream = method.call(client, request, this.metadata(), { deadline: new Date(Date.now() + this.timeoutMs) });
      const onAbort = (): void => stream.cancel();
      call.signal?.addEventListener("abort", onAbort, { once: true });
      stream.on("data", (item: Res) => items.push(item));
      stream.on("error", (error: grpc.ServiceError) => {
        call.signal?.removeEventListener("abort", onAbort);
        reject(errorFromStatus(error, call.signal));
      });
      stream.on("end", () => {
        call.signal?.removeEventListener("abort", onAbort);
        resolve(items);
      });
    });
  }

  // -- streams -----------------------------------------------------------------------------

  async append(streamId: string, events: NewEvent[], request: AppendRequest, call: CallContext): Promise<AppendResult> {
    const es = this.eventStore;
    return appendResult(await this.unary(es, es.append, appendMessage(streamId, events, request), call));
  }

  async commit(appends: StreamAppend[], call: CallContext): Promise<CommitResult> {
    const request = pb.CommitRequest.fromPartial({
      streams: appends.map((append) =>
        appendMessage(append.streamId, append.events, {
          expectedVersion: append.expectedVersion ?? "any",
          category: append.category,
          kind: append.kind,
        }),
      ),
    });
    const es = this.eventStore;
    const response = await this.unary(es, es.commit, request, call);
    return { duplicate: response.duplicate, lastPosition: response.lastPosition, streams: response.streams.map(appendResult) };
  }

  async readPage(streamId: string, request: ReadPageRequest, call: CallContext): Promise<Page<Event>> {
    const message = pb.ReadRequest.fromPartial({
      streamId,
      fromVersion: request.fromVersion ?? 0,
      toVersion: request.toVersion ?? 0,
      since: timestamp(request.since, "since"),
      until: timestamp(request.until, "until"),
      direction: request.direction === "backwards" ? pb.Direction.DIRECTION_BACKWARDS : pb.Direction.DIRECTION_FORWARDS,
      limit: request.limit,
      cursor: request.cursor ?? "",
    });
    const es = this.eventStore;
    const items = await this.collect(es, es.read, message, call);
    const events: Event[] = [];
    let nextCursor: string | null = null;
    for (const item of items) {
      if (item.event) events.push(eventOf(item.event));
      else if (item.nextCursor) nextCursor = item.nextCursor;
    }
    return { items: events, nextCursor };
  }

  async latest(streamId: string, call: CallContext): Promise<Event> {
    const es = this.eventStore;
    return eventOf(await this.unary(es, es.getLatest, pb.GetLatestRequest.fromPartial({ streamId }), call));
  }

  async stream(streamId: string, call: CallContext): Promise<StreamInfo> {
    const es = this.eventStore;
    return streamInfo(await this.unary(es, es.getStream, pb.GetStreamRequest.fromPartial({ streamId }), call));
  }

  async deleteStream(streamId: string, hard: boolean, call: CallContext): Promise<StreamInfo> {
    const es = this.eventStore;
    return streamInfo(await this.unary(es, es.delete, pb.DeleteRequest.fromPartial({ streamId, hard }), call));
  }

  async truncateStream(streamId: string, before: number, call: CallContext): Promise<StreamInfo> {
    const es = this.eventStore;
    return streamInfo(await this.unary(es, es.truncate, pb.TruncateRequest.fromPartial({ streamId, before }), call));
  }

  async streamRetention(streamId: string, call: CallContext): Promise<Retention> {
    const es = this.eventStore;
    return retention(await this.unary(es, es.getRetention, pb.GetRetentionRequest.fromPartial({ streamId }), call));
  }

  async setStreamRetention(streamId: string, policy: RetentionPolicy, call: CallContext): Promise<Retention> {
    const es = this.eventStore;
    const request = pb.SetRetentionRequest.fromPartial({ streamId, maxAge: policy.maxAge, maxCount: policy.maxCount });
    return retention(await this.unary(es, es.setRetention, request, call));
  }

  async clearStreamRetention(streamId: string, call: CallContext): Promise<Retention> {
    const es = this.eventStore;
    return retention(await this.unary(es, es.clearRetention, pb.GetRetentionRequest.fromPartial({ streamId }), call));
  }

  async scavenge(request: { batch?: number | undefined; limit?: number | undefined }, call: CallContext): Promise<ScavengeReport> {
    const es = this.eventStore;
    const message = pb.ScavengeRequest.fromPartial({ batch: request.batch ?? 0, limit: request.limit ?? 0 });
    const response = await this.unary(es, es.scavenge, message, call);
    return {
      truncatedStreams: response.truncatedStreams,
      scavengedStreams: response.scavengedStreams,
      removedEvents: response.removedEvents,
      complete: response.complete,
    };
  }

  async erase(subject: string, call: CallContext): Promise<Erasure> {
    const es = this.eventStore;
    const response = await this.unary(es, es.erase, pb.EraseRequest.fromPartial({ subject }), call);
    return {
      subject: response.subject,
      keysDestroyed: response.keysDestroyed,
      streams: response.streams,
      snapshotsDropped: response.snapshotsDropped,
      erasedAt: timeOf(response.erasedAt),
      erasedBy: response.erasedBy,
      auditId: response.auditId,
    };
  }

  async listStreams(
    request: { prefix?: string | undefined; category?: string | undefined; limit: number; cursor?: string | null | undefined },
    call: CallContext,
  ): Promise<Page<StreamInfo>> {
    const message = pb.ListStreamsRequest.fromPartial({
      prefix: request.prefix ?? "",
      category: request.category ?? "",
      limit: request.limit,
      cursor: request.cursor ?? "",
    });
    const es = this.eventStore;
    const response = await this.unary(es, es.listStreams, message, call);
    return { items: response.streams.map(streamInfo), nextCursor: response.nextCursor || null };
  }

  async readAllPage(request: ReadAllPageRequest, call: CallContext): Promise<FeedPage> {
    const message = pb.ReadAllRequest.fromPartial({
      after: request.after,
      categories: [...request.categories],
      names: [...request.names],
      limit: request.limit,
    });
    const es = this.eventStore;
    const items = await this.collect(es, es.readAll, message, call);
    const events: Event[] = [];
    let nextAfter = request.after;
    for (const item of items) {
      if (item.event) events.push(eventOf(item.event));
      else if (item.checkpoint) nextAfter = item.checkpoint.position;
    }
    return { events, nextAfter };
  }

  async state(
    streamId: string,
    request: { version?: number | undefined; at?: TimeInput | undefined; knownAt?: TimeInput | undefined },
    call: CallContext,
  ): Promise<State> {
    const message = pb.GetStateRequest.fromPartial({
      streamId,
      version: request.version,
      at: timestamp(request.at, "at"),
      knownAt: timestamp(request.knownAt, "knownAt"),
    });
    const es = this.eventStore;
    const response = await this.unary(es, es.getState, message, call);
    return {
      streamId: response.streamId,
      version: response.version ?? null,
      state: json(response.state, null),
      category: response.category || null,
      reducer: response.reducer,
      revision: response.revision,
      snapshot: response.snapshot ? snapshotInfo(response.snapshot) : null,
      eventsRead: response.eventsRead,
      eventsApplied: response.eventsApplied,
      timestamp: timeOf(response.timestamp),
      recordedAt: timeOf(response.recordedAt),
      at: timeOf(response.at),
      knownAt: timeOf(response.knownAt),
    };
  }

  // -- snapshots ---------------------------------------------------------------------------

  async setSnapshot(streamId: string, version: number, payload: unknown, request: SetSnapshotRequest, call: CallContext): Promise<Snapshot> {
    const message = pb.SetSnapshotRequest.fromPartial({
      streamId,
      version,
      payload: jsonBytes(payload),
      revision: request.revision ?? "",
      timestamp: timestamp(request.timestamp, "timestamp"),
      label: request.label ?? "",
      ttl: request.ttl,
    });
    const ss = this.snapshotStore;
    return snapshot(await this.unary(ss, ss.set, message, call));
  }

  async getSnapshot(
    streamId: string,
    request: { maxVersion?: number | undefined; revision?: string | undefined },
    call: CallContext,
  ): Promise<Snapshot> {
    const message = pb.GetSnapshotRequest.fromPartial({ streamId, version: request.maxVersion ?? 0, revision: request.revision ?? "" });
    const ss = this.snapshotStore;
    return snapshot(await this.unary(ss, ss.get, message, call));
  }

  listSnapshots(): Promise<SnapshotInfo[]> {
    return Promise.reject(new Unsupported("listing snapshots is offered over REST; use snapshots.get over gRPC"));
  }

  // -- durable subscriptions ---------------------------------------------------------------

  async createSubscription(name: string, options: Omit<CreateSubscriptionOptions, "signal">, call: CallContext): Promise<Subscription> {
    const start = options.start === undefined ? {} : startMessage(options.start);
    const message = pb.CreateSubscriptionRequest.fromPartial({
      name,
      filter: options.filter
        ? { category: options.filter.category ?? "", streamId: options.filter.streamId ?? "", names: options.filter.names ?? [] }
        : undefined,
      ...(start.start !== undefined ? { start: start.start } : {}),
      ...(start.after !== undefined ? { startAfter: start.after } : {}),
      maxAttempts: options.maxAttempts ?? 0,
      push: options.push ? { kind: options.push.kind, url: options.push.url ?? "", target: options.push.target ?? "" } : undefined,
    });
    const s = this.subscriptions;
    return subscription(await this.unary(s, s.createSubscription, message, call));
  }

  async getSubscription(name: string, call: CallContext): Promise<Subscription> {
    const s = this.subscriptions;
    return subscription(await this.unary(s, s.getSubscription, pb.GetSubscriptionRequest.fromPartial({ name }), call));
  }

  async listSubscriptions(request: { limit?: number | undefined; cursor?: string | null | undefined }, call: CallContext): Promise<Page<Subscription>> {
    const s = this.subscriptions;
    const message = pb.ListSubscriptionsRequest.fromPartial({ limit: request.limit ?? 0, cursor: request.cursor ?? "" });
    const response = await this.unary(s, s.listSubscriptions, message, call);
    return { items: response.items.map(subscription), nextCursor: response.nextCursor || null };
  }

  async deleteSubscription(name: string, call: CallContext): Promise<void> {
    const s = this.subscriptions;
    await this.unary(s, s.deleteSubscription, pb.DeleteSubscriptionRequest.fromPartial({ name }), call);
  }

  async next(name: string, request: { max: number; waitSeconds: number }, call: CallContext): Promise<Batch> {
    const s = this.subscriptions;
    const message = pb.NextRequest.fromPartial({ name, max: request.max, waitSeconds: request.waitSeconds });
    const response = await this.unary(s, s.next, message, call, request.waitSeconds * 1000);
    return { events: response.events.map(eventOf), checkpoint: response.checkpoint };
  }

  async ack(name: string, position: number, call: CallContext): Promise<Subscription> {
    const s = this.subscriptions;
    return subscription(await this.unary(s, s.ack, pb.AckRequest.fromPartial({ name, position }), call));
  }

  async nack(name: string, position: number, error: string, call: CallContext): Promise<NackResult> {
    const s = this.subscriptions;
    const response = await this.unary(s, s.nack, pb.NackRequest.fromPartial({ name, position, error }), call);
    return { position: response.position, attempts: response.attempts, parked: response.parked, checkpoint: response.checkpoint };
  }

  async resetSubscription(name: string, to: SubscriptionStart, call: CallContext): Promise<Subscription> {
    const s = this.subscriptions;
    const message = pb.ResetSubscriptionRequest.fromPartial({ name, ...startMessage(to) });
    return subscription(await this.unary(s, s.resetSubscription, message, call));
  }

  async pauseSubscription(name: string, call: CallContext): Promise<Subscription> {
    const s = this.subscriptions;
    return subscription(await this.unary(s, s.pauseSubscription, pb.PauseSubscriptionRequest.fromPartial({ name }), call));
  }

  async resumeSubscription(name: string, call: CallContext): Promise<Subscription> {
    const s = this.subscriptions;
    return subscription(await this.unary(s, s.resumeSubscription, pb.ResumeSubscriptionRequest.fromPartial({ name }), call));
  }

  async listParked(name: string, request: { limit?: number | undefined; cursor?: string | null | undefined }, call: CallContext): Promise<Page<Parked>> {
    const s = this.subscriptions;
    const message = pb.ListParkedRequest.fromPartial({ name, limit: request.limit ?? 0, cursor: request.cursor ?? "" });
    const response = await this.unary(s, s.listParked, message, call);
    return { items: response.items.map(parked), nextCursor: response.nextCursor || null };
  }

  async parkedAction(name: string, position: number, action: ParkedAction, call: CallContext): Promise<Parked | Subscription> {
    const s = this.subscriptions;
    const message = pb.ParkedEventRequest.fromPartial({ name, position });
    if (action === "retry") return parked(await this.unary(s, s.retryParked, message, call));
    if (action === "skip") return subscription(await this.unary(s, s.skipParked, message, call));
    return subscription(await this.unary(s, s.replayParked, message, call));
  }
}
