// Package flipbook is the Go client of Flipbook, an event store with snapshots and a live
// event bus. It talks to a Flipbook server over gRPC (the flipbook.v1 services).
//
// Every call takes a context first: its deadline and cancellation bound the call, retries
// included. Errors are values to test with [errors.Is] against the sentinels ([ErrNotFound],
// [ErrVersionConflict], ...) or to unpack with [errors.As] ([*Error],
// [*VersionConflictError], [*IDConflictError]). Calls that are safe to repeat are retried
// with exponential backoff and jitter when the server is unavailable (see [RetryPolicy]);
// appends and commits count as safe only when every event carries a client-chosen ID.
//
// Reads page transparently through iterators ([iter.Seq2]): a loop that breaks early ends
// the underlying call. Durable subscriptions ([Client.Subscribe]) catch up, then deliver
// live events, and reconnect after a disconnect without a gap or a duplicate.
//
//	client, err := flipbook.New("127.0.0.1:50051", flipbook.WithAPIKey(key))
//	if err != nil { ... }
//	defer client.Close()
//	res, err := client.Append(ctx, "account-42", flipbook.NoStream,
//		[]flipbook.NewEvent{{Name: "Opened", Payload: map[string]any{"owner": "ada"}}})
//	// res.Events[0]: ID, Version, Position, RecordedAt (no payload: the caller sent it).
//
// The generic aggregate repository lives in the aggregate sub-package.
package flipbook
