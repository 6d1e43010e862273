/** Conversions between the client's values and the flipbook.v1 messages that ts-proto
 * generates (JSON travels as bytes). */

import * as pb from "../generated/flipbook/v1/eventstore.js";
import type { Timestamp } from "../generated/google/protobuf/timestamp.js";
import { formatInstant, toInstant, type TimeInput } from "../time.js";
import type { AppendRequest } from "../transport.js";
import type {
  AppendedEvent,
  AppendResult,
  Event,
  NewEvent,
  Parked,
  Retention,
  Snapshot,
  SnapshotInfo,
  StreamInfo,
  Subscription,
  SubscriptionFilter,
  SubscriptionStart,
  SubscriptionStatus,
} from "../types.js";

export function timestamp(value: TimeInput | undefined | null, field: string): Timestamp | undefined {
  if (value === undefined || value === null) return undefined;
  return toInstant(value, field);
}

export function timeOf(value: Timestamp | undefined): string | null {
  return value === undefined ? null : formatInstant(value);
}

export function json(bytes: Buffer, empty: unknown): unknown {
  return bytes.length === 0 ? empty : JSON.parse(bytes.toString("utf8"));
}

export function jsonBytes(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value ?? null), "utf8");
}

export function eventOf(message: pb.Event): Event {
  return {
    streamId: message.streamId,
    version: message.version ?? null,
    timestamp: timeOf(message.timestamp),
    name: message.name,
    payload: json(message.payload, null),
    metadata: json(message.metadata, {}) as Record<string, unknown>,
    id: message.id,
    position: message.position,
    recordedAt: timeOf(message.recordedAt) ?? "",
  };
}

export function newEventMessage(event: NewEvent): pb.NewEvent {
  return pb.NewEvent.fromPartial({
    name: event.name,
    payload: jsonBytes(event.payload),
    metadata: jsonBytes(event.metadata ?? {}),
    timestamp: timestamp(event.timestamp, "timestamp"),
    id: event.id ?? "",
    version: event.version,
  });
}

export const KINDS = { versioned: pb.StreamKind.STREAM_KIND_VERSIONED, neutral: pb.StreamKind.STREAM_KIND_NEUTRAL } as const;

export function appendMessage(streamId: string, events: NewEvent[], request: AppendRequest): pb.AppendRequest {
  const expected = request.expectedVersion;
  return pb.AppendRequest.fromPartial({
    streamId,
    events: events.map(newEventMessage),
    ...(typeof expected === "number"
      ? { expectedVersion: expected }
      : expected === "no_stream"
        ? { expectedVersion: 0 }
        : { expectedState: expected === "exists" ? pb.ExpectedState.EXPECTED_STATE_EXISTS : pb.ExpectedState.EXPECTED_STATE_ANY }),
    category: request.category ?? "",
    kind: request.kind === undefined ? pb.StreamKind.STREAM_KIND_UNSPECIFIED : KINDS[request.kind],
  });
}

function appendedEvent(message: pb.AppendedEvent): AppendedEvent {
  return {
    id: message.id,
    version: message.version ?? null,
    position: message.position,
    recordedAt: timeOf(message.recordedAt) ?? "",
  };
}

export function appendResult(message: pb.AppendResponse): AppendResult {
  const events = message.events.map(appendedEvent);
  return {
    streamId: message.streamId,
    version: message.version ?? null,
    duplicate: message.duplicate,
    events,
    firstVersion: events[0]?.version ?? null,
    lastVersion: events.at(-1)?.version ?? null,
  };
}

export function streamInfo(message: pb.StreamInfo): StreamInfo {
  return {
    streamId: message.streamId,
    kind: message.kind === pb.StreamKind.STREAM_KIND_NEUTRAL ? "neutral" : "versioned",
    category: message.category || null,
    version: message.version ?? null,
    eventCount: message.eventCount,
    firstRecordedAt: timeOf(message.firstRecordedAt) ?? "",
    lastRecordedAt: timeOf(message.lastRecordedAt) ?? "",
    lastPosition: message.lastPosition,
    metadata: json(message.metadata, {}) as Record<string, unknown>,
  };
}

export function retention(message: pb.Retention): Retention {
  return {
    streamId: message.streamId,
    source: message.source as Retention["source"],
    maxAge: message.maxAge ?? null,
    maxCount: message.maxCount ?? null,
    category: message.category || null,
    updatedAt: timeOf(message.updatedAt),
  };
}

export function snapshotInfo(message: pb.Snapshot): SnapshotInfo {
  return {
    streamId: message.streamId,
    version: message.version,
    revision: message.revision,
    timestamp: timeOf(message.timestamp),
    label: message.label,
    recordedAt: timeOf(message.recordedAt),
    createdAt: timeOf(message.createdAt),
    expiresAt: timeOf(message.expiresAt),
  };
}

export function snapshot(message: pb.Snapshot): Snapshot {
  return { ...snapshotInfo(message), payload: json(message.payload, null) };
}

export function startMessage(start: SubscriptionStart): { start?: pb.SubscriptionStart; after?: number } {
  if (start === "beginning") return { start: pb.SubscriptionStart.SUBSCRIPTION_START_BEGINNING };
  if (start === "end") return { start: pb.SubscriptionStart.SUBSCRIPTION_START_END };
  return { after: start.after };
}

export function subscription(message: pb.Subscription): Subscription {
  const filter: SubscriptionFilter = {};
  if (message.filter?.category) filter.category = message.filter.category;
  if (message.filter?.streamId) filter.streamId = message.filter.streamId;
  if (message.filter && message.filter.names.length > 0) filter.names = message.filter.names;
  let push: Subscription["push"] = null;
  if (message.push && message.push.kind) {
    push = { kind: message.push.kind as "webhook" | "grpc" };
    if (message.push.url) push.url = message.push.url;
    if (message.push.target) push.target = message.push.target;
  }
  return {
    name: message.name,
    filter,
    checkpoint: message.checkpoint,
    headPosition: message.headPosition,
    lag: message.lag,
    lagCapped: message.lagCapped,
    status: message.status as SubscriptionStatus,
    lastHeartbeat: timeOf(message.lastHeartbeat),
    parked: message.parked,
    maxAttempts: message.maxAttempts,
    push,
    createdAt: timeOf(message.createdAt) ?? "",
    retryPosition: message.retryPosition || null,
    retryAttempts: message.retryAttempts,
    lastError: message.lastError,
    paused: message.paused,
  };
}

export function parked(message: pb.ParkedEvent): Parked {
  return {
    position: message.position,
    streamId: message.streamId,
    version: message.version ?? null,
    name: message.name,
    eventId: message.eventId,
    error: message.error,
    attempts: message.attempts,
    parkedAt: timeOf(message.parkedAt) ?? "",
    status: message.status as Parked["status"],
  };
}

// -- the transport -------------------------------------------------------------------------

