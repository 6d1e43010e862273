package flipbook

import (
	"context"
	"errors"
	"time"

	pb "github.com/flipbook/flipbook/clients/go/internal/flipbookpb"
)

// StateOption says as of when to fold a stream's state.
type StateOption func(*pb.GetStateRequest)

// AtVersion folds the state as of version v (0: the latest).
func AtVersion(v int64) StateOption {
	return func(r *pb.GetStateRequest) { r.AsOf = &pb.GetStateRequest_Version{Version: v} }
}

// AtTime folds the state as of natural time t: events with a timestamp at or before t, and
// time-neutral events recorded at or before t.
func AtTime(t time.Time) StateOption {
	return func(r *pb.GetStateRequest) { r.AsOf = &pb.GetStateRequest_At{At: timestampOf(t)} }
}

// KnownAt, with [AtTime], counts only the events the store had recorded by t (bitemporal).
func KnownAt(t time.Time) StateOption {
	return func(r *pb.GetStateRequest) { r.KnownAt = timestampOf(t) }
}

// State returns a stream's reduced state (its category's reducer folded over its events,
// from the newest usable snapshot): the latest, or as of [AtVersion] or [AtTime].
// [ErrNotFound] for a stream without events or a version beyond its head; [ErrReducer]
// when the reducer fails.
func (c *Client) State(ctx context.Context, streamID string, opts ...StateOption) (*State, error) {
	request := &pb.GetStateRequest{StreamId: streamID}
	for _, opt := range opts {
		opt(request)
	}
	if request.KnownAt != nil && request.GetAt() == nil {
		return nil, errors.New("flipbook: KnownAt needs AtTime")
	}
	message, err := unary(ctx, c, true, c.events.GetState, request)
	if err != nil {
		return nil, err
	}
	state := stateOf(message)
	return &state, nil
}

// SetSnapshot stores a state of a stream at a version (replacing the one of the same
// stream, version and revision); [ErrNotFound] when the stream has no events,
// [ErrValidation] for a version beyond its head.
func (c *Client) SetSnapshot(ctx context.Context, snapshot SnapshotInput) (*Snapshot, error) {
	payload, err := jsonBytes(snapshot.Payload, "Payload")
	if err != nil {
		return nil, err
	}
	request := &pb.SetSnapshotRequest{
		StreamId:  snapshot.StreamID,
		Version:   snapshot.Version,
		Payload:   payload,
		Revision:  snapshot.Revision,
		Timestamp: timestampOf(snapshot.Timestamp),
		Label:     snapshot.Label,
	}
	if snapshot.TTL < 0 {
		return nil, errors.New("flipbook: a snapshot's TTL must be above 0 (or 0 for the store's default)")
	}
	if snapshot.TTL > 0 {
		ttl := snapshot.TTL.Seconds()
		request.Ttl = &ttl
	}
	message, err := unary(ctx, c, true, c.snapshots.Set, request)
	if err != nil {
		return nil, err
	}
	stored := snapshotOf(message)
	return &stored, nil
}

// SnapshotOption narrows which snapshot [Client.Snapshot] returns.
type SnapshotOption func(*pb.GetSnapshotRequest)

// MaxVersion returns the newest snapshot at or before version v.
func MaxVersion(v int64) SnapshotOption {
	return func(r *pb.GetSnapshotRequest) { r.Version = v }
}

// Revision returns only snapshots made by this revision.
func Revision(revision string) SnapshotOption {
	return func(r *pb.GetSnapshotRequest) { r.Revision = revision }
}

// Snapshot returns the stream's snapshot with the highest version (see [MaxVersion],
// [Revision]); [ErrNotFound] when there is none.
func (c *Client) Snapshot(ctx context.Context, streamID string, opts ...SnapshotOption) (*Snapshot, error) {
	request := &pb.GetSnapshotRequest{StreamId: streamID}
	for _, opt := range opts {
		opt(request)
	}
	message, err := unary(ctx, c, true, c.snapshots.Get, request)
	if err != nil {
		return nil, err
	}
	snapshot := snapshotOf(message)
	return &snapshot, nil
}
