/** Flipbook's client for Node 20+ and browsers: REST, live WebSocket subscriptions,
 * aggregates. The gRPC transport (Node only) is in `@flipbook/client/grpc`. */

export { Client, Snapshots, Subscriptions, createClient, DEFAULT_PAGE_SIZE } from "./client.js";
export type { ClientOptions, NextOptions, RestClientOptions } from "./client.js";
export * from "./errors.js";
export * from "./types.js";
export { RestTransport, apiBase } from "./rest.js";
export type { RestOptions } from "./rest.js";
export type { Transport, CallContext } from "./transport.js";
export { LiveSubscription, liveUrl, subscribeLive } from "./live.js";
export type { LiveOptions, LiveStatus, LiveTarget, WebSocketFactory, WebSocketLike } from "./live.js";
export { Aggregate, Repository } from "./aggregate.js";
export type { AggregateClass, AppliedEvent, ExecuteOptions, RepositoryOptions } from "./aggregate.js";
export type { RetryOptions } from "./retry.js";
export type { TimeInput } from "./time.js";
