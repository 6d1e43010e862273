/** Flipbook over gRPC, for Node: the same Client as REST, plus durable subscriptions streamed
 * with `EventStore.Subscribe`. */

import { Client, type ClientOptions } from "../client.js";
import { DurableSubscription, type DurableSubscribeOptions } from "./subscribe.js";
import { GrpcTransport, type GrpcOptions } from "./transport.js";

export { GrpcTransport, errorFromStatus, parseTarget } from "./transport.js";
export type { GrpcOptions, TlsOptions } from "./transport.js";
export { DurableSubscription } from "./subscribe.js";
export type { DurableSubscribeOptions } from "./subscribe.js";

export interface GrpcClientOptions extends GrpcOptions, ClientOptions {}

/** A Client over gRPC; `subscribe` streams a durable subscription. */
export class GrpcClient extends Client {
  declare readonly transport: GrpcTransport;

  constructor(target: string, options: GrpcClientOptions = {}) {
    super(new GrpcTransport(target, options), options);
  }

  /** Stream the named durable subscription (catch up, then live); ack/nack on the result. */
  subscribe(name: string, options: DurableSubscribeOptions = {}): DurableSubscription {
    return new DurableSubscription(this.transport, name, options);
  }
}

/** A client of the gRPC API at `host:port` (`grpc://` plaintext, `grpcs://` TLS). */
export function createGrpcClient(target: string, options: GrpcClientOptions = {}): GrpcClient {
  return new GrpcClient(target, options);
}
