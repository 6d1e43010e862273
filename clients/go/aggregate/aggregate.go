// Package aggregate loads and saves event-sourced aggregates on Flipbook: a [Repository]
// folds a stream's events into a state of any type S with an [Apply] function (from the
// newest snapshot when snapshots are on), saves newly recorded events with optimistic
// concurrency, and retries a command when another writer got there first ([Repository.Update]).
package aggregate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	flipbook "github.com/flipbook/flipbook/clients/go"
)

// Apply folds one event into the state and returns the new state. It must be a pure
// function of its arguments: it runs on load and on every recorded event.
type Apply[S any] func(state S, event flipbook.Event) (S, error)

// ErrSnapshot wraps the error of a snapshot that [Repository.Save] could not store after
// the events were saved: the save itself succeeded.
var ErrSnapshot = errors.New("aggregate: events saved, but the snapshot was not stored")

// Root is one aggregate: its stream id, its state, the version it was loaded or saved at,
// and the events recorded since then.
type Root[S any] struct {
	// ID is the stream id.
	ID string
	// State is the state folded from every event, the recorded ones included.
	State S
	// Version is the stream's version when loaded or last saved (0: a new stream).
	Version int64

	apply   Apply[S]
	pending []flipbook.NewEvent
}

// Record applies a new event to the state and keeps it for the next save. payload is
// encoded with encoding/json. Each recorded event gets an id, so a save is safe to repeat.
func (r *Root[S]) Record(name string, payload any) error {
	data, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("aggregate: the payload of %s cannot be encoded as JSON: %w", name, err)
	}
	event := flipbook.NewEvent{ID: flipbook.NewEventID(), Name: name, Payload: json.RawMessage(data)}
	state, err := r.apply(r.State, flipbook.Event{
		StreamID: r.ID,
		Version:  r.Version + int64(len(r.pending)) + 1,
		Name:     name,
		Payload:  data,
		ID:       event.ID,
	})
	if err != nil {
		return err
	}
	r.State = state
	r.pending = append(r.pending, event)
	return nil
}

// Pending returns the events recorded since the last load or save.
func (r *Root[S]) Pending() []flipbook.NewEvent {
	return append([]flipbook.NewEvent(nil), r.pending...)
}

// Repository loads and saves the aggregates of one kind through a client.
type Repository[S any] struct {
	client        *flipbook.Client
	apply         Apply[S]
	category      string
	revision      string
	snapshotEvery int64
	attempts      int
}

// Option configures a Repository.
type Option func(*options)

type options struct {
	category      string
	revision      string
	snapshotEvery int64
	attempts      int
}

// WithCategory sets the category of the streams the repository creates.
func WithCategory(category string) Option {
	return func(o *options) { o.category = category }
}

// WithSnapshots stores the state as a snapshot of revision every `every` versions, and
// loads from the newest snapshot of that revision. The state must round-trip through
// encoding/json. Change the revision whenever Apply or S change shape: older snapshots
// are then ignored.
func WithSnapshots(revision string, every int64) Option {
	return func(o *options) { o.revision, o.snapshotEvery = revision, every }
}

// WithConflictAttempts sets how many times [Repository.Update] runs a command that meets
// a version conflict (default 5).
func WithConflictAttempts(n int) Option {
	return func(o *options) { o.attempts = n }
}

// New returns a repository folding events with apply; a new aggregate starts from S's zero
// value.
func New[S any](client *flipbook.Client, apply Apply[S], opts ...Option) (*Repository[S], error) {
	o := options{attempts: 5}
	for _, opt := range opts {
		opt(&o)
	}
	switch {
	case client == nil || apply == nil:
		return nil, errors.New("aggregate: New needs a client and an apply function")
	case o.snapshotEvery < 0 || (o.snapshotEvery > 0 && o.revision == ""):
		return nil, errors.New("aggregate: WithSnapshots needs a revision and every > 0")
	case o.attempts < 1:
		return nil, errors.New("aggregate: WithConflictAttempts needs at least 1")
	}
	return &Repository[S]{
		client: client, apply: apply, category: o.category,
		revision: o.revision, snapshotEvery: o.snapshotEvery, attempts: o.attempts,
	}, nil
}

// Load folds the stream's events into a Root: from the newest snapshot of the
// repository's revision when snapshots are on, else from the first event. A stream
// without events gives a new Root at version 0 (not an error).
func (r *Repository[S]) Load(ctx context.Context, id string) (*Root[S], error) {
	root := &Root[S]{ID: id, apply: r.apply}
	if r.snapshotEvery > 0 {
		snapshot, err := r.client.Snapshot(ctx, id, flipbook.Revision(r.revision))
		switch {
		case err == nil:
			if err := json.Unmarshal(snapshot.Payload, &root.State); err != nil {
				return nil, fmt.Errorf("aggregate: snapshot %d of %q (revision %s) does not decode: %w", snapshot.Version, id, r.revision, err)
			}
			root.Version = snapshot.Version
		case !errors.Is(err, flipbook.ErrNotFound):
			return nil, err
		}
	}
	for event, err := range r.client.Read(ctx, id, flipbook.FromVersion(root.Version+1)) {
		if err != nil {
			return nil, err
		}
		if root.State, err = r.apply(root.State, event); err != nil {
			return nil, fmt.Errorf("aggregate: applying %s (version %d of %q): %w", event.Name, event.Version, id, err)
		}
		root.Version = event.Version
	}
	return root, nil
}

// Save appends the recorded events, expecting the stream at root.Version (a
// [*flipbook.VersionConflictError] when another writer moved it), then stores a snapshot
// when one is due. It returns nil, nil when nothing was recorded. A snapshot failure
// comes back wrapped in [ErrSnapshot], with the events saved and root up to date.
func (r *Repository[S]) Save(ctx context.Context, root *Root[S]) (*flipbook.AppendResult, error) {
	if len(root.pending) == 0 {
		return nil, nil
	}
	result, err := r.client.Append(ctx, root.ID, flipbook.ExactVersion(root.Version), root.pending, flipbook.WithCategory(r.category))
	if err != nil {
		return nil, err
	}
	saved := root.Version
	root.Version, root.pending = result.Version, nil
	if r.snapshotEvery > 0 && saved/r.snapshotEvery != root.Version/r.snapshotEvery {
		_, err := r.client.SetSnapshot(ctx, flipbook.SnapshotInput{
			StreamID: root.ID, Version: root.Version, Payload: root.State, Revision: r.revision,
		})
		if err != nil {
			return result, fmt.Errorf("%w: %w", ErrSnapshot, err)
		}
	}
	return result, nil
}

// Update loads the aggregate, runs command on it and saves what it recorded; when another
// writer saved first ([flipbook.ErrVersionConflict]) it loads again and runs command again,
// up to the repository's conflict attempts, with a short random pause between. command must
// decide from root.State alone, as it may run more than once.
func (r *Repository[S]) Update(ctx context.Context, id string, command func(*Root[S]) error) (*Root[S], error) {
	var err error
	for attempt := 1; attempt <= r.attempts; attempt++ {
		var root *Root[S]
		if root, err = r.Load(ctx, id); err != nil {
			return nil, err
		}
		if err = command(root); err != nil {
			return nil, err
		}
		if _, err = r.Save(ctx, root); err == nil || errors.Is(err, ErrSnapshot) {
			return root, err
		}
		if !errors.Is(err, flipbook.ErrVersionConflict) {
			return nil, err
		}
		pause := time.Duration(rand.Int64N(int64(10*time.Millisecond) << attempt))
		select {
		case <-ctx.Done():
			return nil, errors.Join(ctx.Err(), err)
		case <-time.After(pause):
		}
	}
	return nil, fmt.Errorf("aggregate: %q still conflicted after %d attempts: %w", id, r.attempts, err)
}
