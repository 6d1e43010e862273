/** The REST transport: Flipbook's /api/v1/ over fetch (Node 20+ and browsers). Paths, query
 * parameters, bodies and answers are typed by src/generated/openapi.ts, generated from the
 * server's OpenAPI schema, so a drift between the two fails `tsc`. */

import { Aborted, ERRORS_BY_HTTP_STATUS, FlipbookError, Unavailable, errorFromBody } from "./errors.js";
import type { components, paths } from "./generated/openapi.js";
import { normalizeTime, timeText } from "./time.js";
import type {
  AppendRequest,
  CallContext,
  ParkedAction,
  ReadAllPageRequest,
  ReadPageRequest,
  SetSnapshotRequest,
  Transport,
} from "./transport.js";
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
  Subscription,
  SubscriptionFilter,
  SubscriptionStart,
} from "./types.js";

type Schemas = components["schemas"];
type Method = "get" | "post" | "put" | "delete";
type Operation<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;
type QueryOf<O> = O extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never;
type PathOf<O> = O extends { parameters: { path: infer T } } ? T : undefined;
type BodyOf<O> = O extends { requestBody?: { content: { "application/json": infer B } } } ? B : undefined;
type OkOf<O> = O extends { responses: infer R }
  ? R extends { 200: { content: { "application/json": infer T } } }
    ? T
    : R extends { 201: { content: { "application/json": infer T } } }
      ? T
      : undefined
  : never;

interface RequestArgs<O> {
  path?: PathOf<O>;
  query?: QueryOf<O>;
  body?: BodyOf<O>;
  /** Extra seconds the server may take (long polls). */
  extraSeconds?: number;
}

export interface RestOptions {
  apiKey?: string | undefined;
  /** Milliseconds a request may take (default 30000). */
  timeoutMs?: number | undefined;
  /** Another fetch (a test double is not needed: pass one with TLS options, a proxy agent...). */
  fetch?: typeof fetch | undefined;
  /** Extra headers on every request. */
  headers?: Record<string, string> | undefined;
}

const API_PREFIX = "/api/v1";

/** The base URL of REST v1 from a server URL (`http://127.0.0.1:8000` or `.../api/v1`). */
export function apiBase(url: string): string {
  let base = url.replace(/\/+$/, "");
  if (!/^https?:\/\//i.test(base)) {
    throw new FlipbookError(`the REST URL must start with http:// or https://, not ${JSON.stringify(url)}`, {
      code: "validation_error",
    });
  }
  if (!base.endsWith(API_PREFIX)) base += API_PREFIX;
  return base;
}

function fillPath(template: string, params: object | undefined): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = (params as Record<string, string | number> | undefined)?.[name];
    if (value === undefined) throw new Error(`missing path parameter ${name}`);
    // Ids may hold "/": one percent-encoded segment each (api/rest/routing.py).
    return encodeURIComponent(String(value));
  });
}

function queryString(query: object | undefined): string {
  if (query === undefined) return "";
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    for (const item of Array.isArray(value) ? value : [value]) params.append(key, String(item));
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

export class RestTransport implements Transport {
  readonly name = "rest" as const;
  readonly baseUrl: string;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly fetch: typeof fetch;

  constructor(url: string, options: RestOptions = {}) {
    this.baseUrl = apiBase(url);
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.headers = { Accept: "application/json", ...(options.headers ?? {}) };
    if (options.apiKey) this.headers["Authorization"] = `Bearer ${options.apiKey}`;
  }

  close(): void {
    // fetch keeps no connection of ours open.
  }

  private async request<P extends keyof paths, M extends Method>(
    method: M,
    path: P,
    args: RequestArgs<Operation<P, M>>,
    call: CallContext,
  ): Promise<OkOf<Operation<P, M>>> {
    const url =
      this.baseUrl +
      fillPath(path.slice(API_PREFIX.length), args.path) +
      queryString(args.query);
    const timeout = AbortSignal.timeout(this.timeoutMs + (args.extraSeconds ?? 0) * 1000);
    const signal = call.signal ? AbortSignal.any([call.signal, timeout]) : timeout;
    const headers = { ...this.headers };
    let body: string | null = null;
    if (args.body !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(args.body);
    }
    let response: Response;
    try {
      response = await this.fetch(url, { method: method.toUpperCase(), headers, body, signal });
    } catch (error) {
      if (call.signal?.aborted) throw new Aborted(`${method.toUpperCase()} ${url} was aborted`, { cause: error });
      if (timeout.aborted) throw new Unavailable(`${method.toUpperCase()} ${url} timed out`, { cause: error });
      throw new Unavailable(`cannot reach ${url}: ${String(error)}`, { cause: error });
    }
    const text = await response.text();
    if (response.status >= 400) {
      let data: unknown;
      try {
        data = JSON.parse(text);
      } catch {
        data = undefined;
      }
      throw errorFromBody(data, response.status, ERRORS_BY_HTTP_STATUS.get(response.status) ?? FlipbookError);
    }
    return (text ? JSON.parse(text) : undefined) as OkOf<Operation<P, M>>;
  }

  // -- streams ---------------------------------------------------------------------------

  async append(streamId: string, events: NewEvent[], request: AppendRequest, call: CallContext): Promise<AppendResult> {
    const body: Schemas["Append"] = {
      expected_version: expectedVersionJson(request.expectedVersion),
      events: events.map(newEventJson),
    };
    if (request.category !== undefined) body.category = request.category;
    if (request.kind !== undefined) body.kind = request.kind;
    const data = await this.request("post", "/api/v1/streams/{stream_id}/events", { path: { stream_id: streamId }, body }, call);
    return appendResult(data);
  }

  async commit(appends: StreamAppend[], call: CallContext): Promise<CommitResult> {
    const body: Schemas["Commit"] = {
      streams: appends.map((append) => {
        const item: Schemas["StreamAppend"] = {
          stream_id: append.streamId,
          expected_version: expectedVersionJson(append.expectedVersion ?? "any"),
          events: append.events.map(newEventJson),
        };
        if (append.category !== undefined) item.category = append.category;
        if (append.kind !== undefined) item.kind = append.kind;
        return item;
      }),
    };
    const data = await this.request("post", "/api/v1/commits", { body }, call);
    return { duplicate: data.duplicate, lastPosition: data.last_position, streams: data.streams.map(appendResult) };
  }

  async readPage(streamId: string, request: ReadPageRequest, call: CallContext): Promise<Page<Event>> {
    const query: QueryOf<Operation<"/api/v1/streams/{stream_id}/events", "get">> = {
      direction: request.direction,
      limit: request.limit,
    };
    if (request.fromVersion !== undefined) query.from_version = request.fromVersion;
    if (request.toVersion !== undefined) query.to_version = request.toVersion;
    if (request.since !== undefined) query.since = timeText(request.since, "since");
    if (request.until !== undefined) query.until = timeText(request.until, "until");
    if (request.cursor) query.cursor = request.cursor;
    const data = await this.request("get", "/api/v1/streams/{stream_id}/events", { path: { stream_id: streamId }, query }, call);
    return { items: data.events.map(eventFromJson), nextCursor: data.next_cursor };
  }

  async latest(streamId: string, call: CallContext): Promise<Event> {
    const data = await this.request("get", "/api/v1/streams/{stream_id}/events/latest", { path: { stream_id: streamId } }, call);
    return eventFromJson(data);
  }

  async stream(streamId: string, call: CallContext): Promise<StreamInfo> {
    const data = await this.request("get", "/api/v1/streams/{stream_id}", { path: { stream_id: streamId } }, call);
    return streamInfo(data);
  }

  async deleteStream(streamId: string, hard: boolean, call: CallContext): Promise<StreamInfo> {
    const query: QueryOf<Operation<"/api/v1/streams/{stream_id}", "delete">> = {};
    if (hard) query.hard = true;
    const data = await this.request("delete", "/api/v1/streams/{stream_id}", { path: { stream_id: streamId }, query }, call);
    return streamInfo(data);
  }

  async truncateStream(streamId: string, before: number, call: CallContext): Promise<StreamInfo> {
    const data = await this.request(
      "delete",
      "/api/v1/streams/{stream_id}/events",
      { path: { stream_id: streamId }, query: { before } },
      call,
    );
    return streamInfo(data);
  }

  async streamRetention(streamId: string, call: CallContext): Promise<Retention> {
    const data = await this.request("get", "/api/v1/streams/{stream_id}/retention", { path: { stream_id: streamId } }, call);
    return retention(data);
  }

  async setStreamRetention(streamId: string, policy: RetentionPolicy, call: CallContext): Promise<Retention> {
    const body: Schemas["RetentionRequest"] = {};
    if (policy.maxAge !== undefined) body.max_age = policy.maxAge;
    if (policy.maxCount !== undefined) body.max_count = policy.maxCount;
    const data = await this.request("put", "/api/v1/streams/{stream_id}/retention", { path: { stream_id: streamId }, body }, call);
    return retention(data);
  }

  async clearStreamRetention(streamId: string, call: CallContext): Promise<Retention> {
    const data = await this.request("delete", "/api/v1/streams/{stream_id}/retention", { path: { stream_id: streamId } }, call);
    return retention(data);
  }

  async scavenge(request: { batch?: number | undefined; limit?: number | undefined }, call: CallContext): Promise<ScavengeReport> {
    const body: Schemas["ScavengeRequest"] = {};
    if (request.batch !== undefined) body.batch = request.batch;
    if (request.limit !== undefined) body.limit = request.limit;
    const data = await this.request("post", "/api/v1/scavenges", { body }, call);
    return {
      truncatedStreams: data.truncated_streams,
      scavengedStreams: data.scavenged_streams,
      removedEvents: data.removed_events,
      complete: data.complete,
    };
  }

  async erase(subject: string, call: CallContext): Promise<Erasure> {
    const data = await this.request("post", "/api/v1/erasures", { body: { subject } }, call);
    return {
      subject: data.subject,
      keysDestroyed: data.keys_destroyed,
      streams: data.streams,
      snapshotsDropped: data.snapshots_dropped,
      erasedAt: normalizeTime(data.erased_at),
      erasedBy: data.erased_by,
      auditId: data.audit_id,
    };
  }

  async listStreams(
    request: { prefix?: string | undefined; category?: string | undefined; limit: number; cursor?: string | null | undefined },
    call: CallContext,
  ): Promise<Page<StreamInfo>> {
    const query: QueryOf<Operation<"/api/v1/streams/", "get">> = { limit: request.limit };
    if (request.prefix !== undefined) query.prefix = request.prefix;
    if (request.category !== undefined) query.category = request.category;
    if (request.cursor) query.cursor = request.cursor;
    const data = await this.request("get", "/api/v1/streams/", { query }, call);
    return { items: data.streams.map(streamInfo), nextCursor: data.next_cursor };
  }

  async readAllPage(request: ReadAllPageRequest, call: CallContext): Promise<FeedPage> {
    const query: QueryOf<Operation<"/api/v1/events", "get">> = { after: request.after, limit: request.limit };
    if (request.categories.length > 0) query.category = [...request.categories];
    if (request.names.length > 0) query.name = [...request.names];
    const data = await this.request("get", "/api/v1/events", { query }, call);
    return { events: data.events.map(eventFromJson), nextAfter: data.next_after };
  }

  async state(
    streamId: string,
    request: { version?: number | undefined; at?: string | Date | undefined; knownAt?: string | Date | undefined },
    call: CallContext,
  ): Promise<State> {
    const query: QueryOf<Operation<"/api/v1/streams/{stream_id}/state", "get">> = {};
    if (request.version !== undefined) query.version = request.version;
    if (request.at !== undefined) query.at = timeText(request.at, "at");
    if (request.knownAt !== undefined) query.known_at = timeText(request.knownAt, "knownAt");
    const data = await this.request("get", "/api/v1/streams/{stream_id}/state", { path: { stream_id: streamId }, query }, call);
    return {
      streamId: data.stream_id,
      version: data.version,
      state: data.state,
      category: data.category,
      reducer: data.reducer,
      revision: data.revision,
      snapshot: data.snapshot ? snapshotInfo(data.snapshot) : null,
      eventsRead: data.events_read,
      eventsApplied: data.events_applied,
      timestamp: normalizeTime(data.timestamp),
      recordedAt: normalizeTime(data.recorded_at),
      at: normalizeTime(data.at),
      knownAt: normalizeTime(data.known_at),
    };
  }

  // -- snapshots -------------------------------------------------------------------------

  async setSnapshot(streamId: string, version: number, payload: unknown, request: SetSnapshotRequest, call: CallContext): Promise<Snapshot> {
    const body: Schemas["SetSnapshot"] = { version, payload };
    if (request.label !== undefined) body.label = request.label;
    if (request.revision !== undefined) body.revision = request.revision;
    if (request.timestamp !== undefined) body.timestamp = timeText(request.timestamp, "timestamp");
    if (request.ttl !== undefined) body.ttl = request.ttl;
    const data = await this.request("put", "/api/v1/streams/{stream_id}/snapshots", { path: { stream_id: streamId }, body }, call);
    return snapshot(data);
  }

  async getSnapshot(
    streamId: string,
    request: { maxVersion?: number | undefined; revision?: string | undefined },
    call: CallContext,
  ): Promise<Snapshot> {
    const query: QueryOf<Operation<"/api/v1/streams/{stream_id}/snapshots/latest", "get">> = {};
    if (request.maxVersion !== undefined) query.version = request.maxVersion;
    if (request.revision !== undefined) query.revision = request.revision;
    const data = await this.request(
      "get",
      "/api/v1/streams/{stream_id}/snapshots/latest",
      { path: { stream_id: streamId }, query },
      call,
    );
    return snapshot(data);
  }

  async listSnapshots(streamId: string, request: { revision?: string | undefined }, call: CallContext): Promise<SnapshotInfo[]> {
    const query: QueryOf<Operation<"/api/v1/streams/{stream_id}/snapshots", "get">> = {};
    if (request.revision !== undefined) query.revision = request.revision;
    const data = await this.request("get", "/api/v1/streams/{stream_id}/snapshots", { path: { stream_id: streamId }, query }, call);
    return data.snapshots.map(snapshotInfo);
  }

  // -- durable subscriptions -------------------------------------------------------------

  async createSubscription(name: string, options: Omit<CreateSubscriptionOptions, "signal">, call: CallContext): Promise<Subscription> {
    const body: Schemas["CreateSubscription"] = { name };
    if (options.filter !== undefined) body.filter = filterJson(options.filter);
    if (options.start !== undefined) body.start = options.start;
    if (options.maxAttempts !== undefined) body.max_attempts = options.maxAttempts;
    if (options.push !== undefined) body.push = options.push;
    return subscription(await this.request("post", "/api/v1/subscriptions/", { body }, call));
  }

  async getSubscription(name: string, call: CallContext): Promise<Subscription> {
    return subscription(await this.request("get", "/api/v1/subscriptions/{name}", { path: { name } }, call));
  }

  async listSubscriptions(request: { limit?: number | undefined; cursor?: string | null | undefined }, call: CallContext): Promise<Page<Subscription>> {
    const query: QueryOf<Operation<"/api/v1/subscriptions/", "get">> = {};
    if (request.limit !== undefined) query.limit = request.limit;
    if (request.cursor) query.cursor = request.cursor;
    const data = await this.request("get", "/api/v1/subscriptions/", { query }, call);
    return { items: data.items.map(subscription), nextCursor: data.next_cursor };
  }

  async deleteSubscription(name: string, call: CallContext): Promise<void> {
    await this.request("delete", "/api/v1/subscriptions/{name}", { path: { name } }, call);
  }

  async next(name: string, request: { max: number; waitSeconds: number }, call: CallContext): Promise<Batch> {
    const data = await this.request(
      "post",
      "/api/v1/subscriptions/{name}/next",
      { path: { name }, query: { max: request.max, wait: request.waitSeconds }, extraSeconds: request.waitSeconds },
      call,
    );
    return { events: data.events.map(eventFromJson), checkpoint: data.checkpoint };
  }

  async ack(name: string, position: number, call: CallContext): Promise<Subscription> {
    return subscription(await this.request("post", "/api/v1/subscriptions/{name}/ack", { path: { name }, body: { position } }, call));
  }

  async nack(name: string, position: number, error: string, call: CallContext): Promise<NackResult> {
    const data = await this.request("post", "/api/v1/subscriptions/{name}/nack", { path: { name }, body: { position, error } }, call);
    return { position: data.position, attempts: data.attempts, parked: data.parked, checkpoint: data.checkpoint };
  }

  async resetSubscription(name: string, to: SubscriptionStart, call: CallContext): Promise<Subscription> {
    return subscription(await this.request("post", "/api/v1/subscriptions/{name}/reset", { path: { name }, body: { to } }, call));
  }

  async pauseSubscription(name: string, call: CallContext): Promise<Subscription> {
    return subscription(await this.request("post", "/api/v1/subscriptions/{name}/pause", { path: { name } }, call));
  }

  async resumeSubscription(name: string, call: CallContext): Promise<Subscription> {
    return subscription(await this.request("post", "/api/v1/subscriptions/{name}/resume", { path: { name } }, call));
  }

  async listParked(name: string, request: { limit?: number | undefined; cursor?: string | null | undefined }, call: CallContext): Promise<Page<Parked>> {
    const query: QueryOf<Operation<"/api/v1/subscriptions/{name}/parked", "get">> = {};
    if (request.limit !== undefined) query.limit = request.limit;
    if (request.cursor) query.cursor = request.cursor;
    const data = await this.request("get", "/api/v1/subscriptions/{name}/parked", { path: { name }, query }, call);
    return { items: data.items.map(parked), nextCursor: data.next_cursor };
  }

  async parkedAction(name: string, position: number, action: ParkedAction, call: CallContext): Promise<Parked | Subscription> {
    const path = { name, position };
    if (action === "retry") {
      return parked(await this.request("post", "/api/v1/subscriptions/{name}/parked/{position}/retry", { path }, call));
    }
    if (action === "skip") {
      return subscription(await this.request("post", "/api/v1/subscriptions/{name}/parked/{position}/skip", { path }, call));
    }
    return subscription(await this.request("post", "/api/v1/subscriptions/{name}/parked/{position}/replay", { path }, call));
  }
}

// -- JSON to the client's values ---------------------------------------------------------

function expectedVersionJson(expected: ExpectedVersion): number | "any" | "exists" {
  return expected === "no_stream" ? 0 : expected;
}

function newEventJson(event: NewEvent): Schemas["NewEvent"] {
  const json: Schemas["NewEvent"] = { name: event.name, payload: event.payload ?? null };
  if (event.metadata !== undefined) json.metadata = event.metadata;
  if (event.timestamp !== undefined && event.timestamp !== null) json.timestamp = timeText(event.timestamp, "timestamp");
  if (event.id !== undefined) json.id = event.id;
  if (event.version !== undefined) json.version = event.version;
  return json;
}

export function eventFromJson(json: Schemas["Event"]): Event {
  return {
    streamId: json.stream_id,
    version: json.version,
    timestamp: normalizeTime(json.timestamp),
    name: json.name,
    payload: json.payload,
    metadata: json.metadata,
    id: json.id,
    position: json.position,
    recordedAt: normalizeTime(json.recorded_at) ?? json.recorded_at,
  };
}

function appendResult(json: Schemas["AppendResult"]): AppendResult {
  const events = json.events.map((event) => ({
    id: event.id,
    version: event.version,
    position: event.position,
    recordedAt: normalizeTime(event.recorded_at) ?? event.recorded_at,
  }));
  return {
    streamId: json.stream_id,
    version: json.version,
    duplicate: json.duplicate,
    events,
    firstVersion: events[0]?.version ?? null,
    lastVersion: events.at(-1)?.version ?? null,
  };
}

function streamInfo(json: Schemas["Stream"]): StreamInfo {
  return {
    streamId: json.stream_id,
    kind: json.kind,
    category: json.category,
    version: json.version,
    eventCount: json.event_count,
    firstRecordedAt: normalizeTime(json.first_recorded_at) ?? json.first_recorded_at,
    lastRecordedAt: normalizeTime(json.last_recorded_at) ?? json.last_recorded_at,
    lastPosition: json.last_position,
    metadata: json.metadata,
  };
}

function retention(json: Schemas["Retention"]): Retention {
  return {
    streamId: json.stream_id,
    source: json.source,
    maxAge: json.max_age,
    maxCount: json.max_count,
    category: json.category,
    updatedAt: normalizeTime(json.updated_at),
  };
}

function snapshotInfo(json: Schemas["SnapshotInfo"]): SnapshotInfo {
  return {
    streamId: json.stream_id,
    version: json.version,
    revision: json.revision,
    timestamp: normalizeTime(json.timestamp),
    label: json.label,
    recordedAt: normalizeTime(json.recorded_at),
    createdAt: normalizeTime(json.created_at),
    expiresAt: normalizeTime(json.expires_at),
  };
}

function snapshot(json: Schemas["Snapshot"]): Snapshot {
  return { ...snapshotInfo(json), payload: json.payload };
}

function filterJson(filter: SubscriptionFilter): Schemas["SubscriptionFilter"] {
  const json: Schemas["SubscriptionFilter"] = {};
  if (filter.category) json.category = filter.category;
  if (filter.streamId) json.stream_id = filter.streamId;
  if (filter.names !== undefined) json.names = filter.names;
  return json;
}

function subscription(json: Schemas["Subscription"]): Subscription {
  const filter: SubscriptionFilter = {};
  if (json.filter.category) filter.category = json.filter.category;
  if (json.filter.stream_id) filter.streamId = json.filter.stream_id;
  if (json.filter.names && json.filter.names.length > 0) filter.names = json.filter.names;
  const push = json.push ? { kind: json.push.kind as "webhook" | "grpc", ...pushTarget(json.push) } : null;
  return {
    name: json.name,
    filter,
    checkpoint: json.checkpoint,
    headPosition: json.head_position,
    lag: json.lag,
    lagCapped: json.lag_capped,
    status: json.status,
    lastHeartbeat: normalizeTime(json.last_heartbeat),
    parked: json.parked,
    maxAttempts: json.max_attempts,
    push,
    createdAt: normalizeTime(json.created_at) ?? json.created_at,
    retryPosition: json.retry_position,
    retryAttempts: json.retry_attempts,
    lastError: json.last_error,
    paused: json.paused,
  };
}

function pushTarget(push: Schemas["PushEndpoint"]): { url?: string; target?: string } {
  const out: { url?: string; target?: string } = {};
  if (push.url) out.url = push.url;
  if (push.target) out.target = push.target;
  return out;
}

function parked(json: Schemas["ParkedEvent"]): Parked {
  return {
    position: json.position,
    streamId: json.stream_id,
    version: json.version,
    name: json.name,
    eventId: json.event_id,
    error: json.error,
    attempts: json.attempts,
    parkedAt: normalizeTime(json.parked_at) ?? json.parked_at,
    status: json.status,
  };
}
