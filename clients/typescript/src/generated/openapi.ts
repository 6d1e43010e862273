// Generated from Flipbook's OpenAPI schema (REST v1) by `npm run generate`. Do not edit.
/* eslint-disable */
export interface paths {
    "/api/v1/commits": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Append to several streams atomically
         * @description Every stream's check passes and all events are stored, or nothing is. 201 with what was stored per stream, in request order; 200 for an identical re-send.
         */
        post: operations["commit"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/erasures": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Erase a subject's personal data
         * @description Destroys the subject's data keys (crypto-shredding): its encrypted fields read as {"erased": true} everywhere from then on, the rest of each event unchanged. The snapshots of the streams that held them are dropped; an audit record is kept. Needs an admin key valid for every stream. 404 when no personal data is stored for the subject (or it was erased already). Cannot be undone.
         */
        post: operations["erase_subject"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/events": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The all-feed
         * @description Events of every stream with position > `after`, in position order, optionally only of some categories and event names (repeat the parameter for several). Continue with `?after=<next_after>`: a reader that follows it sees every event exactly once. Keys restricted to a stream prefix cannot read it. With `Accept: application/x-ndjson` (or `?format=ndjson`) the whole selection streams as one event per line, in bounded memory; `limit` then caps the number of lines (default: no cap), and a failure after the first line ends the stream with a line `{"error": {...}}`.
         */
        get: operations["read_all"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/scavenges": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Scavenge: apply retention, remove what deletes and truncations hid
         * @description Applies each stream's retention policy (its own, else its category's), then removes for good the events of hard-deleted streams and those below truncation points, in short writes of `batch` events (appends keep running). Stops after `limit` removed events (default and at most 100000): `complete` false means more is left, so send another. Positions of what remains never change. Needs an admin key valid for every stream.
         */
        post: operations["scavenge"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/streams/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List streams
         * @description Stream heads ordered by id, filtered by id prefix and category. A key restricted to a stream prefix only sees its own streams.
         */
        get: operations["list_streams"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/streams/{stream_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Stream info (its head, version 0)
         * @description A stream's head ("version 0"): its kind, category, version, event count and the store
         *     times of its first and last events.
         */
        get: operations["retrieve_stream"];
        put?: never;
        post?: never;
        /**
         * Delete a stream (soft, or hard: a tombstone)
         * @description Soft (default): reads answer 404 until an append starts the stream again, its versions continuing after the old last one. `?hard=true`: a tombstone; reads and appends answer 410 `stream_deleted` for ever. The events stay in the all-feed until a scavenge. Answers the head as it was. Needs the write scope on the stream.
         */
        delete: operations["delete_stream"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/streams/{stream_id}/events": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Read a stream's events
         * @description By version range (inclusive; by position on version-neutral streams) or by natural time `since`..`until` (inclusive; time-neutral events left out), forwards or backwards, a page at a time. A stream with no events reads empty. With `Accept: application/x-ndjson` (or `?format=ndjson`) the whole selection streams as one event per line, in bounded memory; `limit` then caps the number of lines (default: no cap), and a failure after the first line ends the stream with a line `{"error": {...}}`.
         */
        get: operations["read_stream"];
        put?: never;
        /**
         * Append events to a stream
         * @description Checks `expected_version` (or the events' explicit versions) and stores all events or none. 201 with each stored event's id, version, position and store time (not its payload: the client sent it); 200 with the original result when this re-sends an identical stored commit (same event ids and content).
         */
        post: operations["append_to_stream"];
        /**
         * Truncate a stream before a version
         * @description Hides the events below `before` (a version; a position on version-neutral streams); a read from a lower version answers what remains. Truncation never moves back; a scavenge removes the events for good. Answers the new head. Needs the write scope on the stream.
         */
        delete: operations["truncate_stream"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/streams/{stream_id}/events/latest": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The last event of a stream
         * @description The last event of a stream (404 when it has none).
         */
        get: operations["latest_event"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/streams/{stream_id}/retention": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The retention policy of a stream
         * @description The policy the next scavenge applies to the stream: its own (`source` "stream"), else its category's in FLIPBOOK_RETENTION ("category"), else none.
         */
        get: operations["stream_retention"];
        /**
         * Set a stream's own retention policy
         * @description Like KurrentDB's $maxAge/$maxCount: keep events at most `max_age` seconds and/or only the newest `max_count`. Replaces the stream's previous policy and its category's; a scavenge applies it. The stream need not exist yet. 400 unless at least one is a positive integer; 410 on a hard-deleted stream. Needs write scope.
         */
        put: operations["set_stream_retention"];
        post?: never;
        /**
         * Clear a stream's own retention policy
         * @description Its category's policy (if any) applies again; answers the policy that applies now. 404 when the stream has no policy of its own. Needs write scope.
         */
        delete: operations["clear_stream_retention"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/streams/{stream_id}/snapshots": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * A stream's snapshots
         * @description Every stored snapshot of the stream (of `revision` when given), without payloads, ordered by version then revision; empty when there are none.
         */
        get: operations["list_snapshots"];
        /**
         * Store a client's snapshot
         * @description Stores the state of the stream at `version`, replacing the snapshot of the same version and revision. The default revision "client" is never used to serve states; a snapshot is used only when its revision equals the reducer's.
         */
        put: operations["set_snapshot"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/streams/{stream_id}/snapshots/latest": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * A stream's latest snapshot
         * @description The snapshot with the highest version, at or before `version` when given, of `revision` when given (else of any revision), payload included; 404 when none.
         */
        get: operations["latest_snapshot"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/streams/{stream_id}/state": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The reduced state of a stream
         * @description The stream category's reducer folded over its events, from the newest usable snapshot: as of `version` (absent or 0: the latest), or as of natural time `at` (ISO 8601), optionally as the store knew it at `known_at` (bitemporal). Give `version` or `at`, not both. 404 for a stream without events or a version beyond its head; 422 when the reducer fails on the stream's events.
         */
        get: operations["stream_state"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/subscriptions/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List subscriptions
         * @description Base: every operation reads the all-feed, so prefix-restricted keys are refused.
         */
        get: operations["list_subscriptions"];
        put?: never;
        /**
         * Create a subscription
         * @description A named consumer of the all-feed (or of one category or stream, optionally only some event names) with a stored checkpoint. `start`: `beginning` (default), `end`, or `{"after": N}`. With `push` the server delivers the events to a webhook or a gRPC EventHandler; without it the consumer pulls with `next`. 409 `already_exists` when the name is taken.
         */
        post: operations["create_subscription"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/subscriptions/{name}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * A subscription: checkpoint, lag, status, parked events
         * @description Base: every operation reads the all-feed, so prefix-restricted keys are refused.
         */
        get: operations["retrieve_subscription"];
        put?: never;
        post?: never;
        /**
         * Delete a subscription and its parked events
         * @description Base: every operation reads the all-feed, so prefix-restricted keys are refused.
         */
        delete: operations["delete_subscription"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/subscriptions/{name}/ack": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Acknowledge events (cumulative)
         * @description Every event at or below `position` is done: the checkpoint moves there (never back). A position beyond the feed's head is refused.
         */
        post: operations["ack"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/subscriptions/{name}/nack": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Report a failed event
         * @description Events before `position` count as acknowledged; the event at `position` is delivered again, and parked (with the error) after `max_attempts` failures, when the checkpoint moves past it.
         */
        post: operations["nack"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/subscriptions/{name}/next": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * The next batch of a subscription (long-polls)
         * @description Events after the checkpoint that match the filter, in position order (events whose retry was asked for come first), at most `max`. When there are none the request waits up to `wait` seconds for new ones. Events not acknowledged (`ack`) are delivered again by the next call: at-least-once.
         */
        post: operations["next_batch"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/subscriptions/{name}/parked": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * A subscription's parked events
         * @description Base: every operation reads the all-feed, so prefix-restricted keys are refused.
         */
        get: operations["list_parked"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/subscriptions/{name}/parked/{position}/replay": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Replay from a parked event
         * @description Set the checkpoint just before it and drop the parked events from it on: it and every later event are delivered again.
         */
        post: operations["replay_parked"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/subscriptions/{name}/parked/{position}/retry": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Retry a parked event
         * @description Deliver it once more: the push worker tries now, a pull consumer gets it first in its next batch; max_attempts failures park it again.
         */
        post: operations["retry_parked"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/subscriptions/{name}/parked/{position}/skip": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Skip a parked event
         * @description Drop it for good.
         */
        post: operations["skip_parked"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/subscriptions/{name}/pause": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Pause a subscription
         * @description Nothing is delivered (next returns empty batches, push and gRPC streams send nothing) until it is resumed; the checkpoint stays.
         */
        post: operations["pause_subscription"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/subscriptions/{name}/reset": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Move the checkpoint
         * @description `to`: "beginning", "end" or {"after": N}. Events after it are delivered again; parked events after it are dropped (they are delivered again too).
         */
        post: operations["reset_subscription"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/subscriptions/{name}/resume": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Resume a paused subscription
         * @description Delivery goes on from the checkpoint.
         */
        post: operations["resume_subscription"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        Ack: {
            /** Format: int64 */
            position: number;
        };
        Append: {
            /** @description Set on the stream's first append; a later append must agree or omit it. */
            category?: string | null;
            events: components["schemas"]["NewEvent"][];
            /**
             * @description N: the stream must be exactly at version N (0: must not exist yet); "any": no check; "exists": the stream must have events. Events carrying explicit versions imply it.
             * @default any
             */
            expected_version: number | ("any" | "exists");
            /**
             * @description Declared on the first append (default versioned); must agree later.
             *
             *     * `versioned` - versioned
             *     * `neutral` - neutral
             */
            kind?: (components["schemas"]["KindEnum"] | components["schemas"]["NullEnum"]) | null;
        };
        /** @description One stored event of an append's result: where it went, not what it says. */
        AppendedEvent: {
            /** Format: uuid */
            id: string;
            /** @description The store-wide order (the all-feed). */
            position: number;
            /**
             * Format: date-time
             * @description When the store committed it.
             */
            recorded_at: string;
            /** @description null on version-neutral streams. */
            version: number | null;
        };
        AppendResult: {
            /** @description True when this re-sent an identical stored commit (nothing new stored). */
            duplicate: boolean;
            /** @description The stored events in order, without payloads (the client sent them). */
            events: components["schemas"]["AppendedEvent"][];
            /** @description The state id: any printable text, slashes included, 1–256 characters. */
            stream_id: string;
            /** @description The stream's version after the append; null if neutral. */
            version: number | null;
        };
        Commit: {
            /** @description Each stream at most once; all or nothing. */
            streams: components["schemas"]["StreamAppend"][];
        };
        CommitResult: {
            duplicate: boolean;
            last_position: number;
            streams: components["schemas"]["AppendResult"][];
        };
        CreateSubscription: {
            /** @description category or stream_id (not both; neither: the whole feed), names. */
            filter?: components["schemas"]["SubscriptionFilter"] | null;
            /** @description Failures before parking (5). */
            max_attempts?: number;
            /** @description 1-100 letters, digits, '-', '_', '.'. */
            name: string;
            /** @description Omit for a pull subscription. */
            push?: components["schemas"]["PushEndpoint"] | null;
            /** @description "beginning" (every event), "end" (only new ones) or {"after": N}. */
            start?: ("beginning" | "end") | {
                after: number;
            };
        };
        EraseSubject: {
            /** @description The subject whose personal data to erase. */
            subject: string;
        };
        Erasure: {
            audit_id: number;
            /** Format: date-time */
            erased_at: string;
            erased_by: string;
            keys_destroyed: number;
            snapshots_dropped: number;
            /** @description Streams that held the subject's fields. */
            streams: number;
            subject: string;
        };
        Error: {
            error: components["schemas"]["ErrorDetail"];
        };
        ErrorDetail: {
            /** @description validation_error, not_found, version_conflict, id_conflict, too_large, reducer_error, unauthenticated, permission_denied, unavailable, internal_error, method_not_allowed, not_acceptable, unsupported_media_type, throttled. */
            code: string;
            /** @description e.g. field; current_version and expected_version of a version_conflict. */
            details: {
                [key: string]: unknown;
            };
            /** @description What went wrong and how to fix it. */
            message: string;
        };
        Event: {
            /** Format: uuid */
            id: string;
            metadata: {
                [key: string]: unknown;
            };
            name: string;
            payload: unknown;
            /** @description The store-wide order (the all-feed). */
            position: number;
            /**
             * Format: date-time
             * @description When the store committed it.
             */
            recorded_at: string;
            /** @description The state id: any printable text, slashes included, 1–256 characters. */
            stream_id: string;
            /**
             * Format: date-time
             * @description null: time-neutral.
             */
            timestamp: string | null;
            /** @description null on version-neutral streams. */
            version: number | null;
        };
        EventPage: {
            events: components["schemas"]["Event"][];
            /** @description Pass as ?cursor= with the same query for the next page; null: no more now. */
            next_cursor: string | null;
            /** @description The state id: any printable text, slashes included, 1–256 characters. */
            stream_id: string;
        };
        FeedPage: {
            events: components["schemas"]["Event"][];
            /** @description Pass as ?after= to continue; it moves past filtered-out events too. */
            next_after: number;
        };
        /**
         * @description * `versioned` - versioned
         *     * `neutral` - neutral
         * @enum {string}
         */
        KindEnum: "versioned" | "neutral";
        Nack: {
            /** @description Why it failed (kept up to 2000 chars). */
            error?: string;
            /** Format: int64 */
            position: number;
        };
        NackResult: {
            attempts: number;
            checkpoint: number;
            parked: boolean;
            position: number;
        };
        NewEvent: {
            /**
             * Format: uuid
             * @description Send one to make the commit idempotent; generated otherwise.
             */
            id?: string | null;
            /** @description A JSON object: correlation id, causation id, actor... */
            metadata?: {
                [key: string]: unknown;
            } | null;
            /** @description What happened, e.g. Deposited. */
            name: string;
            /** @description Any JSON value (limit 1 MiB by default). */
            payload?: unknown;
            /**
             * Format: date-time
             * @description The natural time of the event (ISO 8601); null or absent: time-neutral.
             */
            timestamp?: string | null;
            /** @description An explicit version; give all events one, continuing the stream, or none. */
            version?: number | null;
        };
        /** @enum {unknown} */
        NullEnum: null;
        ParkedEvent: {
            attempts: number;
            error: string;
            /** Format: uuid */
            event_id: string;
            name: string;
            /** Format: date-time */
            parked_at: string;
            position: number;
            /**
             * @description parked; retry: a retry was asked for; sent: the retry was delivered to a pull consumer and waits for its ack.
             *
             *     * `parked` - parked
             *     * `retry` - retry
             *     * `sent` - sent
             */
            status: components["schemas"]["ParkedEventStatusEnum"];
            stream_id: string;
            version: number | null;
        };
        ParkedEventPage: {
            items: components["schemas"]["ParkedEvent"][];
            next_cursor: string | null;
        };
        /**
         * @description * `parked` - parked
         *     * `retry` - retry
         *     * `sent` - sent
         * @enum {string}
         */
        ParkedEventStatusEnum: "parked" | "retry" | "sent";
        PushEndpoint: {
            /** @description "webhook" or "grpc". */
            kind: string;
            /** @description kind "grpc": host:port of an EventHandler. */
            target?: string;
            /** @description kind "webhook": the http(s) URL to POST to. */
            url?: string;
        };
        Reset: {
            /** @description "beginning", "end", {"after": N} or {"at": "<ISO 8601 time>"} (just before the first event recorded after that time). */
            to: ("beginning" | "end") | {
                after: number;
            } | {
                /** Format: date-time */
                at: string;
            };
        };
        Retention: {
            category: string | null;
            max_age: number | null;
            max_count: number | null;
            /**
             * @description Where the policy comes from: the stream's own, its category's (FLIPBOOK_RETENTION), or none.
             *
             *     * `stream` - stream
             *     * `category` - category
             *     * `none` - none
             */
            source: components["schemas"]["SourceEnum"];
            stream_id: string;
            /**
             * Format: date-time
             * @description When the stream's own policy was set.
             */
            updated_at: string | null;
        };
        RetentionRequest: {
            /** @description Keep events at most this many seconds after they were recorded. */
            max_age?: number | null;
            /** @description Keep only the newest this many events. */
            max_count?: number | null;
        };
        Scavenge: {
            /** @description False when the run stopped at its limit: send another for the rest. */
            complete: boolean;
            removed_events: number;
            /** @description Streams that lost events for good. */
            scavenged_streams: number;
            /** @description Streams whose retention moved their truncation point. */
            truncated_streams: number;
        };
        ScavengeRequest: {
            /** @description Events per write (FLIPBOOK_SCAVENGE_BATCH). */
            batch?: number;
            /** @description Stop after removing this many events (at most 100000). */
            limit?: number;
        };
        SetSnapshot: {
            /** @description A free label, e.g. nightly (default empty). */
            label?: string;
            /** @description The state: any JSON value (limit 16 MiB by default). */
            payload: unknown;
            /** @description What made the state (default "client"). States are served from a snapshot only when this equals the stream's reducer revision. */
            revision?: string;
            /**
             * Format: date-time
             * @description The natural time of the state (ISO 8601); null or absent: unknown.
             */
            timestamp?: string | null;
            /** @description Seconds to keep the snapshot; null or absent: the store's default. */
            ttl?: number | null;
            /**
             * Format: int64
             * @description The stream version the state is of: 1 to the stream's current version.
             */
            version: number;
        };
        Snapshot: {
            /** Format: date-time */
            created_at: string | null;
            /**
             * Format: date-time
             * @description null: never expires.
             */
            expires_at: string | null;
            label: string;
            /** @description The state, any JSON value. */
            payload: unknown;
            /**
             * Format: date-time
             * @description The newest store time of its events; null on snapshots set by clients.
             */
            recorded_at: string | null;
            /** @description The reducer revision that made it, or "client". */
            revision: string;
            /** @description The state id: any printable text, slashes included, 1–256 characters. */
            stream_id: string;
            /**
             * Format: date-time
             * @description The natural time of the state; null: unknown.
             */
            timestamp: string | null;
            version: number;
        };
        SnapshotInfo: {
            /** Format: date-time */
            created_at: string | null;
            /**
             * Format: date-time
             * @description null: never expires.
             */
            expires_at: string | null;
            label: string;
            /**
             * Format: date-time
             * @description The newest store time of its events; null on snapshots set by clients.
             */
            recorded_at: string | null;
            /** @description The reducer revision that made it, or "client". */
            revision: string;
            /** @description The state id: any printable text, slashes included, 1–256 characters. */
            stream_id: string;
            /**
             * Format: date-time
             * @description The natural time of the state; null: unknown.
             */
            timestamp: string | null;
            version: number;
        };
        SnapshotList: {
            /** @description Ordered by version, then revision; without payloads. */
            snapshots: components["schemas"]["SnapshotInfo"][];
        };
        /**
         * @description * `stream` - stream
         *     * `category` - category
         *     * `none` - none
         * @enum {string}
         */
        SourceEnum: "stream" | "category" | "none";
        State: {
            /**
             * Format: date-time
             * @description The `at` asked for, if any.
             */
            at: string | null;
            category: string | null;
            /** @description Events folded in. */
            events_applied: number;
            /** @description Events read after the snapshot. */
            events_read: number;
            /**
             * Format: date-time
             * @description The `known_at` asked for, if any.
             */
            known_at: string | null;
            /**
             * Format: date-time
             * @description The newest store time among the folded events.
             */
            recorded_at: string | null;
            /** @description The kind of reducer: merge, declarative... */
            reducer: string;
            /** @description The reducer revision that folded it. */
            revision: string;
            /** @description The snapshot the fold started from; null: the first event. */
            snapshot: components["schemas"]["SnapshotInfo"] | null;
            /** @description The reduced state. */
            state: unknown;
            /** @description The state id: any printable text, slashes included, 1–256 characters. */
            stream_id: string;
            /**
             * Format: date-time
             * @description The newest natural time among the folded events.
             */
            timestamp: string | null;
            /** @description The version of the last event folded in (0: none); null if neutral. */
            version: number | null;
        };
        Stream: {
            category: string | null;
            event_count: number;
            /** Format: date-time */
            first_recorded_at: string;
            kind: components["schemas"]["KindEnum"];
            last_position: number;
            /** Format: date-time */
            last_recorded_at: string;
            metadata: {
                [key: string]: unknown;
            };
            /** @description The state id: any printable text, slashes included, 1–256 characters. */
            stream_id: string;
            /** @description Only on truncated or deleted streams: the first version (position on version-neutral streams) that remains. */
            truncate_before?: number;
            /** @description null if version-neutral. */
            version: number | null;
        };
        StreamAppend: {
            /** @description Set on the stream's first append; a later append must agree or omit it. */
            category?: string | null;
            events: components["schemas"]["NewEvent"][];
            /**
             * @description N: the stream must be exactly at version N (0: must not exist yet); "any": no check; "exists": the stream must have events. Events carrying explicit versions imply it.
             * @default any
             */
            expected_version: number | ("any" | "exists");
            /**
             * @description Declared on the first append (default versioned); must agree later.
             *
             *     * `versioned` - versioned
             *     * `neutral` - neutral
             */
            kind?: (components["schemas"]["KindEnum"] | components["schemas"]["NullEnum"]) | null;
            /** @description The state id: any printable text, slashes included, 1–256 characters. */
            stream_id: string;
        };
        StreamPage: {
            /** @description Pass as ?cursor= for the next page; null: no more now. */
            next_cursor: string | null;
            streams: components["schemas"]["Stream"][];
        };
        Subscription: {
            /** @description Every matching event at or below it is acknowledged or parked. */
            checkpoint: number;
            /** Format: date-time */
            created_at: string;
            filter: components["schemas"]["SubscriptionFilter"];
            /** @description The feed position the lag was counted up to (the settled head unless lag_capped). */
            head_position: number;
            /** @description Matching events after the checkpoint, plus retries asked for; exact unless lag_capped. */
            lag: number;
            /** @description lag is a lower bound (the count stopped). */
            lag_capped: boolean;
            last_error: string;
            /** Format: date-time */
            last_heartbeat: string | null;
            max_attempts: number;
            name: string;
            /** @description Parked events (retries asked for included). */
            parked: number;
            /** @description Paused: nothing is delivered until resumed. */
            paused: boolean;
            push: components["schemas"]["PushEndpoint"] | null;
            retry_attempts: number;
            /** @description The event after the checkpoint being retried. */
            retry_position: number | null;
            /**
             * @description live: nothing to deliver, consumer seen; behind: events to deliver, consumer seen; stalled: events to deliver, no consumer heartbeat for the threshold; idle: nothing to deliver, no consumer seen; paused: an operator paused it (nothing is delivered until it is resumed).
             *
             *     * `live` - live
             *     * `behind` - behind
             *     * `stalled` - stalled
             *     * `idle` - idle
             *     * `paused` - paused
             */
            status: components["schemas"]["SubscriptionStatusEnum"];
        };
        SubscriptionBatch: {
            checkpoint: number;
            /** @description Retries asked for first, then in position order. */
            events: components["schemas"]["Event"][];
        };
        SubscriptionFilter: {
            category?: string | null;
            /** @description Only these names. */
            names?: string[];
            /** @description The state id: any printable text, slashes included, 1–256 characters. */
            stream_id?: string | null;
        };
        SubscriptionPage: {
            items: components["schemas"]["Subscription"][];
            next_cursor: string | null;
        };
        /**
         * @description * `live` - live
         *     * `behind` - behind
         *     * `stalled` - stalled
         *     * `idle` - idle
         *     * `paused` - paused
         * @enum {string}
         */
        SubscriptionStatusEnum: "live" | "behind" | "stalled" | "idle" | "paused";
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    commit: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["Commit"];
            };
        };
        responses: {
            /** @description An identical re-send. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CommitResult"];
                };
            };
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CommitResult"];
                };
            };
            /** @description validation_error: a bad id, version, JSON value, query parameter or cursor */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unauthenticated: no key, or a malformed, unknown or revoked one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description permission_denied: the key's scope or stream prefix does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description version_conflict (details.current_version names the stream's version) or id_conflict (an event id is stored with other content) */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description too_large: a payload, metadata or the whole request is over its limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unsupported_media_type: send application/json */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unavailable: the backend cannot be reached now; retry later */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    erase_subject: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["EraseSubject"];
            };
        };
        responses: {
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Erasure"];
                };
            };
            /** @description validation_error: a bad id, version, JSON value, query parameter or cursor */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unauthenticated: no key, or a malformed, unknown or revoked one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description permission_denied: the key's scope or stream prefix does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description not_found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unsupported_media_type: send application/json */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unavailable: the backend cannot be reached now; retry later */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    read_all: {
        parameters: {
            query?: {
                /** @description Position (default 0). */
                after?: number;
                /** @description Only these categories. Repeat it for several: `?category=a&category=b`. */
                category?: string[];
                format?: "json" | "ndjson";
                /** @description Page size, 1 to 10000 (default 100). */
                limit?: number;
                /** @description Only these event names. Repeat it for several: `?name=a&name=b`. */
                name?: string[];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["FeedPage"];
                    "application/x-ndjson": components["schemas"]["Event"];
                };
            };
            /** @description validation_error: a bad id, version, JSON value, query parameter or cursor */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unauthenticated: no key, or a malformed, unknown or revoked one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description permission_denied: the key's scope or stream prefix does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unavailable: the backend cannot be reached now; retry later */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    scavenge: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": components["schemas"]["ScavengeRequest"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Scavenge"];
                };
            };
            /** @description validation_error: a bad id, version, JSON value, query parameter or cursor */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unauthenticated: no key, or a malformed, unknown or revoked one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description permission_denied: the key's scope or stream prefix does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unsupported_media_type: send application/json */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unavailable: the backend cannot be reached now; retry later */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    list_streams: {
        parameters: {
            query?: {
                /** @description Only this category. */
                category?: string;
                /** @description The next_cursor of the previous page. */
                cursor?: string;
                /** @description Page size, 1 to 10000 (default 100). */
                limit?: number;
                /** @description Only ids starting so. */
                prefix?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StreamPage"];
                };
            };
            /** @description validation_error: a bad id, version, JSON value, query parameter or cursor */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unauthenticated: no key, or a malformed, unknown or revoked one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description permission_denied: the key's scope or stream prefix does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unavailable: the backend cannot be reached now; retry later */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    retrieve_stream: {
        parameters: {
            query?: {
                /** @description The stream id, when the path holds `-` in its place: works behind any server, also for ids ending in `/events` that a server decoding `%2F` would misroute. */
                stream_id?: string;
            };
            header?: never;
            path: {
                /** @description The stream id, percent-encoded as ONE path segment: `/unique/path/to/file` is `%2Funique%2Fpath%2Fto%2Ffile` (encodeURIComponent, urllib.parse.quote(id, safe='')). Or `-` here with the id in the `stream_id` query parameter. */
                stream_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Stream"];
                };
            };
            /** @description validation_error: a bad id, version, JSON value, query parameter or cursor */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unauthenticated: no key, or a malformed, unknown or revoked one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description permission_denied: the key's scope or stream prefix does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description not_found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unavailable: the backend cannot be reached now; retry later */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    delete_stream: {
        parameters: {
            query?: {
                /** @description Leave a tombstone. */
                hard?: boolean;
                /** @description The stream id, when the path holds `-` in its place: works behind any server, also for ids ending in `/events` that a server decoding `%2F` would misroute. */
                stream_id?: string;
            };
            header?: never;
            path: {
                /** @description The stream id, percent-encoded as ONE path segment: `/unique/path/to/file` is `%2Funique%2Fpath%2Fto%2Ffile` (encodeURIComponent, urllib.parse.quote(id, safe='')). Or `-` here with the id in the `stream_id` query parameter. */
                stream_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Stream"];
                };
            };
            /** @description validation_error: a bad id, version, JSON value, query parameter or cursor */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unauthenticated: no key, or a malformed, unknown or revoked one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description permission_denied: the key's scope or stream prefix does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description not_found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description stream_deleted: the stream was hard-deleted (a tombstone) and takes no reads or appends */
            410: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unavailable: the backend cannot be reached now; retry later */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    read_stream: {
        parameters: {
            query?: {
                /** @description The next_cursor of the previous page. */
                cursor?: string;
                direction?: "backwards" | "forwards";
                format?: "json" | "ndjson";
                /** @description First version. */
                from_version?: number;
                /** @description Page size, 1 to 10000 (default 100). */
                limit?: number;
                /** @description Natural time from (ISO 8601; encode '+' as %2B, or use Z). */
                since?: string;
                /** @description The stream id, when the path holds `-` in its place: works behind any server, also for ids ending in `/events` that a server decoding `%2F` would misroute. */
                stream_id?: string;
                /** @description Last version. */
                to_version?: number;
                /** @description Natural time to. */
                until?: string;
            };
            header?: never;
            path: {
                /** @description The stream id, percent-encoded as ONE path segment: `/unique/path/to/file` is `%2Funique%2Fpath%2Fto%2Ffile` (encodeURIComponent, urllib.parse.quote(id, safe='')). Or `-` here with the id in the `stream_id` query parameter. */
                stream_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["EventPage"];
                    "application/x-ndjson": components["schemas"]["Event"];
                };
            };
            /** @description validation_error: a bad id, version, JSON value, query parameter or cursor */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unauthenticated: no key, or a malformed, unknown or revoked one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description permission_denied: the key's scope or stream prefix does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unavailable: the backend cannot be reached now; retry later */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    append_to_stream: {
        parameters: {
            query?: {
                format?: "json" | "ndjson";
                /** @description The stream id, when the path holds `-` in its place: works behind any server, also for ids ending in `/events` that a server decoding `%2F` would misroute. */
                stream_id?: string;
            };
            header?: never;
            path: {
                /** @description The stream id, percent-encoded as ONE path segment: `/unique/path/to/file` is `%2Funique%2Fpath%2Fto%2Ffile` (encodeURIComponent, urllib.parse.quote(id, safe='')). Or `-` here with the id in the `stream_id` query parameter. */
                stream_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["Append"];
            };
        };
        responses: {
            /** @description An identical re-send. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AppendResult"];
                    "application/x-ndjson": components["schemas"]["AppendResult"];
                };
            };
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AppendResult"];
                    "application/x-ndjson": components["schemas"]["AppendResult"];
                };
            };
            /** @description validation_error: a bad id, version, JSON value, query parameter or cursor */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unauthenticated: no key, or a malformed, unknown or revoked one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description permission_denied: the key's scope or stream prefix does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description version_conflict (details.current_version names the stream's version) or id_conflict (an event id is stored with other content) */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description too_large: a payload, metadata or the whole request is over its limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unsupported_media_type: send application/json */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unavailable: the backend cannot be reached now; retry later */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    truncate_stream: {
        parameters: {
            query: {
                /** @description First ordinal to keep. */
                before: number;
                format?: "json" | "ndjson";
                /** @description The stream id, when the path holds `-` in its place: works behind any server, also for ids ending in `/events` that a server decoding `%2F` would misroute. */
                stream_id?: string;
            };
            header?: never;
            path: {
                /** @description The stream id, percent-encoded as ONE path segment: `/unique/path/to/file` is `%2Funique%2Fpath%2Fto%2Ffile` (encodeURIComponent, urllib.parse.quote(id, safe='')). Or `-` here with the id in the `stream_id` query parameter. */
                stream_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Stream"];
                    "application/x-ndjson": components["schemas"]["Stream"];
                };
            };
            /** @description validation_error: a bad id, version, JSON value, query parameter or cursor */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unauthenticated: no key, or a malformed, unknown or revoked one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description permission_denied: the key's scope or stream prefix does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description not_found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description stream_deleted: the stream was hard-deleted (a tombstone) and takes no reads or appends */
            410: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unavailable: the backend cannot be reached now; retry later */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    latest_event: {
        parameters: {
            query?: {
                /** @description The stream id, when the path holds `-` in its place: works behind any server, also for ids ending in `/events` that a server decoding `%2F` would misroute. */
                stream_id?: string;
            };
            header?: never;
            path: {
                /** @description The stream id, percent-encoded as ONE path segment: `/unique/path/to/file` is `%2Funique%2Fpath%2Fto%2Ffile` (encodeURIComponent, urllib.parse.quote(id, safe='')). Or `-` here with the id in the `stream_id` query parameter. */
                stream_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Event"];
                };
            };
            /** @description validation_error: a bad id, version, JSON value, query parameter or cursor */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unauthenticated: no key, or a malformed, unknown or revoked one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description permission_denied: the key's scope or stream prefix does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description not_found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unavailable: the backend cannot be reached now; retry later */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    stream_retention: {
        parameters: {
            query?: {
                /** @description The stream id, when the path holds `-` in its place: works behind any server, also for ids ending in `/events` that a server decoding `%2F` would misroute. */
                stream_id?: string;
            };
            header?: never;
            path: {
                /** @description The stream id, percent-encoded as ONE path segment: `/unique/path/to/file` is `%2Funique%2Fpath%2Fto%2Ffile` (encodeURIComponent, urllib.parse.quote(id, safe='')). Or `-` here with the id in the `stream_id` query parameter. */
                stream_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Retention"];
                };
            };
            /** @description validation_error: a bad id, version, JSON value, query parameter or cursor */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unauthenticated: no key, or a malformed, unknown or revoked one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description permission_denied: the key's scope or stream prefix does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unavailable: the backend cannot be reached now; retry later */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    set_stream_retention: {
        parameters: {
            query?: {
                /** @description The stream id, when the path holds `-` in its place: works behind any server, also for ids ending in `/events` that a server decoding `%2F` would misroute. */
                stream_id?: string;
            };
            header?: never;
            path: {
                /** @description The stream id, percent-encoded as ONE path segment: `/unique/path/to/file` is `%2Funique%2Fpath%2Fto%2Ffile` (encodeURIComponent, urllib.parse.quote(id, safe='')). Or `-` here with the id in the `stream_id` query parameter. */
                stream_id: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": components["schemas"]["RetentionRequest"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Retention"];
                };
            };
            /** @description validation_error: a bad id, version, JSON value, query parameter or cursor */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unauthenticated: no key, or a malformed, unknown or revoked one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description permission_denied: the key's scope or stream prefix does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description stream_deleted: the stream was hard-deleted (a tombstone) and takes no reads or appends */
            410: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unsupported_media_type: send application/json */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unavailable: the backend cannot be reached now; retry later */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    clear_stream_retention: {
        parameters: {
            query?: {
                /** @description The stream id, when the path holds `-` in its place: works behind any server, also for ids ending in `/events` that a server decoding `%2F` would misroute. */
                stream_id?: string;
            };
            header?: never;
            path: {
                /** @description The stream id, percent-encoded as ONE path segment: `/unique/path/to/file` is `%2Funique%2Fpath%2Fto%2Ffile` (encodeURIComponent, urllib.parse.quote(id, safe='')). Or `-` here with the id in the `stream_id` query parameter. */
                stream_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Retention"];
                };
            };
            /** @description validation_error: a bad id, version, JSON value, query parameter or cursor */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unauthenticated: no key, or a malformed, unknown or revoked one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description permission_denied: the key's scope or stream prefix does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description not_found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unavailable: the backend cannot be reached now; retry later */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    list_snapshots: {
        parameters: {
            query?: {
                /** @description Only snapshots of this revision (a reducer revision, or "client"). */
                revision?: string;
                /** @description The stream id, when the path holds `-` in its place: works behind any server, also for ids ending in `/events` that a server decoding `%2F` would misroute. */
                stream_id?: string;
            };
            header?: never;
            path: {
                /** @description The stream id, percent-encoded as ONE path segment: `/unique/path/to/file` is `%2Funique%2Fpath%2Fto%2Ffile` (encodeURIComponent, urllib.parse.quote(id, safe='')). Or `-` here with the id in the `stream_id` query parameter. */
                stream_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SnapshotList"];
                };
            };
            /** @description validation_error: a bad id, version, JSON value, query parameter or cursor */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unauthenticated: no key, or a malformed, unknown or revoked one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description permission_denied: the key's scope or stream prefix does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unavailable: the backend cannot be reached now; retry later */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    set_snapshot: {
        parameters: {
            query?: {
                /** @description The stream id, when the path holds `-` in its place: works behind any server, also for ids ending in `/events` that a server decoding `%2F` would misroute. */
                stream_id?: string;
            };
            header?: never;
            path: {
                /** @description The stream id, percent-encoded as ONE path segment: `/unique/path/to/file` is `%2Funique%2Fpath%2Fto%2Ffile` (encodeURIComponent, urllib.parse.quote(id, safe='')). Or `-` here with the id in the `stream_id` query parameter. */
                stream_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["SetSnapshot"];
            };
        };
        responses: {
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Snapshot"];
                };
            };
            /** @description validation_error: a bad id, version, JSON value, query parameter or cursor */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unauthenticated: no key, or a malformed, unknown or revoked one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description permission_denied: the key's scope or stream prefix does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description not_found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description too_large: a payload, metadata or the whole request is over its limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unsupported_media_type: send application/json */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unavailable: the backend cannot be reached now; retry later */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    latest_snapshot: {
        parameters: {
            query?: {
                /** @description Only snapshots of this revision (a reducer revision, or "client"). */
                revision?: string;
                /** @description The stream id, when the path holds `-` in its place: works behind any server, also for ids ending in `/events` that a server decoding `%2F` would misroute. */
                stream_id?: string;
                /** @description At or before this version. */
                version?: number;
            };
            header?: never;
            path: {
                /** @description The stream id, percent-encoded as ONE path segment: `/unique/path/to/file` is `%2Funique%2Fpath%2Fto%2Ffile` (encodeURIComponent, urllib.parse.quote(id, safe='')). Or `-` here with the id in the `stream_id` query parameter. */
                stream_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Snapshot"];
                };
            };
            /** @description validation_error: a bad id, version, JSON value, query parameter or cursor */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unauthenticated: no key, or a malformed, unknown or revoked one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description permission_denied: the key's scope or stream prefix does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description not_found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unavailable: the backend cannot be reached now; retry later */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    stream_state: {
        parameters: {
            query?: {
                /** @description Natural time (ISO 8601; encode '+' as %2B, or use Z). */
                at?: string;
                /** @description With `at`: only events the store had recorded by then. */
                known_at?: string;
                /** @description The stream id, when the path holds `-` in its place: works behind any server, also for ids ending in `/events` that a server decoding `%2F` would misroute. */
                stream_id?: string;
                /** @description The version (0: the latest). */
                version?: number;
            };
            header?: never;
            path: {
                /** @description The stream id, percent-encoded as ONE path segment: `/unique/path/to/file` is `%2Funique%2Fpath%2Fto%2Ffile` (encodeURIComponent, urllib.parse.quote(id, safe='')). Or `-` here with the id in the `stream_id` query parameter. */
                stream_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["State"];
                };
            };
            /** @description validation_error: a bad id, version, JSON value, query parameter or cursor */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unauthenticated: no key, or a malformed, unknown or revoked one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description permission_denied: the key's scope or stream prefix does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description not_found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description reducer_error: the stream's reducer failed on an event, returned a state that is not JSON, or its category's reducer is misconfigured */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unavailable: the backend cannot be reached now; retry later */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    list_subscriptions: {
        parameters: {
            query?: {
                /** @description The next_cursor of the previous page. */
                cursor?: string;
                /** @description Page size (default 100). */
                limit?: number;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SubscriptionPage"];
                };
            };
            /** @description validation_error: a bad id, version, JSON value, query parameter or cursor */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unauthenticated: no key, or a malformed, unknown or revoked one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description permission_denied: the key's scope or stream prefix does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unavailable: the backend cannot be reached now; retry later */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    create_subscription: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CreateSubscription"];
            };
        };
        responses: {
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Subscription"];
                };
            };
            /** @description validation_error: a bad id, version, JSON value, query parameter or cursor */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unauthenticated: no key, or a malformed, unknown or revoked one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description permission_denied: the key's scope or stream prefix does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description already_exists: the name is taken */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unavailable: the backend cannot be reached now; retry later */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    retrieve_subscription: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The subscription's name. */
                name: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Subscription"];
                };
            };
            /** @description validation_error: a bad id, version, JSON value, query parameter or cursor */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unauthenticated: no key, or a malformed, unknown or revoked one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description permission_denied: the key's scope or stream prefix does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description not_found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unavailable: the backend cannot be reached now; retry later */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    delete_subscription: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The subscription's name. */
                name: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description No response body */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description validation_error: a bad id, version, JSON value, query parameter or cursor */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unauthenticated: no key, or a malformed, unknown or revoked one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description permission_denied: the key's scope or stream prefix does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description not_found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unavailable: the backend cannot be reached now; retry later */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    ack: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The subscription's name. */
                name: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["Ack"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Subscription"];
                };
            };
            /** @description validation_error: a bad id, version, JSON value, query parameter or cursor */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unauthenticated: no key, or a malformed, unknown or revoked one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description permission_denied: the key's scope or stream prefix does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description not_found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unavailable: the backend cannot be reached now; retry later */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    nack: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The subscription's name. */
                name: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["Nack"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["NackResult"];
                };
            };
            /** @description validation_error: a bad id, version, JSON value, query parameter or cursor */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unauthenticated: no key, or a malformed, unknown or revoked one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description permission_denied: the key's scope or stream prefix does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description not_found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unavailable: the backend cannot be reached now; retry later */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    next_batch: {
        parameters: {
            query?: {
                /** @description At most this many events (default 100). */
                max?: number;
                /** @description Seconds to wait when there is nothing to deliver (default 0). */
                wait?: number;
            };
            header?: never;
            path: {
                /** @description The subscription's name. */
                name: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SubscriptionBatch"];
                };
            };
            /** @description validation_error: a bad id, version, JSON value, query parameter or cursor */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unauthenticated: no key, or a malformed, unknown or revoked one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description permission_denied: the key's scope or stream prefix does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description not_found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unavailable: the backend cannot be reached now; retry later */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    list_parked: {
        parameters: {
            query?: {
                /** @description The next_cursor of the previous page. */
                cursor?: string;
                /** @description Page size (default 100). */
                limit?: number;
            };
            header?: never;
            path: {
                /** @description The subscription's name. */
                name: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ParkedEventPage"];
                };
            };
            /** @description validation_error: a bad id, version, JSON value, query parameter or cursor */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unauthenticated: no key, or a malformed, unknown or revoked one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description permission_denied: the key's scope or stream prefix does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description not_found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unavailable: the backend cannot be reached now; retry later */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    replay_parked: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The subscription's name. */
                name: string;
                /** @description The parked event's position. */
                position: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Subscription"];
                };
            };
            /** @description validation_error: a bad id, version, JSON value, query parameter or cursor */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unauthenticated: no key, or a malformed, unknown or revoked one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description permission_denied: the key's scope or stream prefix does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description not_found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unavailable: the backend cannot be reached now; retry later */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    retry_parked: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The subscription's name. */
                name: string;
                /** @description The parked event's position. */
                position: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ParkedEvent"];
                };
            };
            /** @description validation_error: a bad id, version, JSON value, query parameter or cursor */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unauthenticated: no key, or a malformed, unknown or revoked one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description permission_denied: the key's scope or stream prefix does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description not_found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unavailable: the backend cannot be reached now; retry later */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    skip_parked: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The subscription's name. */
                name: string;
                /** @description The parked event's position. */
                position: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Subscription"];
                };
            };
            /** @description validation_error: a bad id, version, JSON value, query parameter or cursor */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unauthenticated: no key, or a malformed, unknown or revoked one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description permission_denied: the key's scope or stream prefix does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description not_found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unavailable: the backend cannot be reached now; retry later */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    pause_subscription: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The subscription's name. */
                name: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Subscription"];
                };
            };
            /** @description validation_error: a bad id, version, JSON value, query parameter or cursor */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unauthenticated: no key, or a malformed, unknown or revoked one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description permission_denied: the key's scope or stream prefix does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description not_found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unavailable: the backend cannot be reached now; retry later */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    reset_subscription: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The subscription's name. */
                name: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["Reset"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Subscription"];
                };
            };
            /** @description validation_error: a bad id, version, JSON value, query parameter or cursor */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unauthenticated: no key, or a malformed, unknown or revoked one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description permission_denied: the key's scope or stream prefix does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description not_found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unavailable: the backend cannot be reached now; retry later */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    resume_subscription: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The subscription's name. */
                name: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Subscription"];
                };
            };
            /** @description validation_error: a bad id, version, JSON value, query parameter or cursor */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unauthenticated: no key, or a malformed, unknown or revoked one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description permission_denied: the key's scope or stream prefix does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description not_found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description unavailable: the backend cannot be reached now; retry later */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
}
