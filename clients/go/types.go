package flipbook

import (
	"encoding/json"
	"fmt"
	"time"
)

// ExpectedVersion is the check an append makes before storing its events. The zero value
// is [AnyVersion].
type ExpectedVersion struct {
	kind    expectedKind
	version int64
}

type expectedKind uint8

const (
	expectAny expectedKind = iota
	expectExact
	expectExists
)

var (
	// AnyVersion makes no check: the store assigns the next versions.
	AnyVersion = ExpectedVersion{kind: expectAny}
	// NoStream requires that the stream has no events yet (the same as ExactVersion(0)).
	NoStream = ExpectedVersion{kind: expectExact, version: 0}
	// StreamExists requires that the stream already has events.
	StreamExists = ExpectedVersion{kind: expectExists}
)

// ExactVersion requires that the stream is exactly at version v (0: it has no events).
func ExactVersion(v int64) ExpectedVersion {
	return ExpectedVersion{kind: expectExact, version: v}
}

// String returns "any", "exists" or the exact version.
func (e ExpectedVersion) String() string {
	switch e.kind {
	case expectExact:
		return fmt.Sprint(e.version)
	case expectExists:
		return "exists"
	}
	return "any"
}

// StreamKind says whether a stream's events carry versions.
type StreamKind string

const (
	// KindUnspecified: on a first append, versioned; later, whatever the stream is.
	KindUnspecified StreamKind = ""
	// KindVersioned: every event has a version; appends are checked.
	KindVersioned StreamKind = "versioned"
	// KindNeutral: an append-only log without versions or version checks.
	KindNeutral StreamKind = "neutral"
)

// NewEvent is an event to append.
type NewEvent struct {
	// Name says what happened, 1-128 characters.
	Name string
	// Payload is encoded with encoding/json; a json.RawMessage or []byte of JSON text is
	// sent as it is. nil is JSON null.
	Payload any
	// Metadata is encoded with encoding/json as a JSON object; nil is {}.
	Metadata any
	// Timestamp is the natural time; the zero time makes a time-neutral event.
	Timestamp time.Time
	// ID is a UUID chosen by the client: re-sending the same events with the same ids is
	// harmless (the result is flagged Duplicate) and makes the call retryable. Empty: the
	// store makes one. See [NewEventID].
	ID string
	// Version is an explicit version; give it on every event of an append or on none (0).
	Version int64
}

// Event is an event as stored. Immutable.
type Event struct {
	StreamID string // the stream (state id) it belongs to
	// Version is 0 on version-neutral streams.
	Version int64
	// Timestamp is the natural time; zero on time-neutral events.
	Timestamp time.Time
	Name      string // what happened
	// Payload is JSON text.
	Payload json.RawMessage
	// Metadata is JSON object text.
	Metadata json.RawMessage
	// ID is the event's UUID.
	ID string
	// Position is the store-wide order of commits.
	Position int64
	// RecordedAt is when the store committed the event.
	RecordedAt time.Time
}

// DecodePayload decodes the event's JSON payload into v (as json.Unmarshal does).
func (e Event) DecodePayload(v any) error {
	return json.Unmarshal(e.Payload, v)
}

// AppendedEvent is where one appended event was stored. The server does not send the
// name, payload, metadata or timestamp back: the caller sent them.
type AppendedEvent struct {
	// ID is the event's UUID (the client's own or one the store made).
	ID string
	// Version is 0 on version-neutral streams.
	Version int64
	// Position is the store-wide order of commits.
	Position int64
	// RecordedAt is when the store committed the event.
	RecordedAt time.Time
}

// AppendResult is what one stream of an append or commit stored.
type AppendResult struct {
	StreamID string // the stream appended to
	// Version is the stream's version after the append; 0 on version-neutral streams.
	Version int64
	// Events say where the stored events went (ids, versions, positions, store times), in
	// the order sent; pair them with the NewEvents sent when the payloads are needed.
	Events []AppendedEvent
	// Duplicate is true when this was an identical re-send: nothing new was stored.
	Duplicate bool
}

// FirstVersion is the version of the first stored event (0 when there is none or the
// stream is version-neutral).
func (r *AppendResult) FirstVersion() int64 {
	if len(r.Events) == 0 {
		return 0
	}
	return r.Events[0].Version
}

// StreamAppend is the events for one stream of a commit, with the check to make first.
type StreamAppend struct {
	StreamID string          // the stream to append to, at most once per commit
	Expected ExpectedVersion // the check to make first
	Events   []NewEvent      // the events, in order
	// Category is set on the stream's first append; empty: none.
	Category string
	// Kind declares the stream's kind on its first append.
	Kind StreamKind
}

// CommitResult is what a commit stored, per stream in request order.
type CommitResult struct {
	Streams   []AppendResult // per stream, in request order
	Duplicate bool           // true for an identical re-send: nothing new was stored
	// LastPosition is the highest position the commit stored.
	LastPosition int64
}

// StreamInfo is the head of a stream ("version 0").
type StreamInfo struct {
	StreamID string     // the stream's id
	Kind     StreamKind // versioned or neutral
	Category string     // empty: none
	// Version is 0 on version-neutral streams.
	Version         int64
	EventCount      int64     // events stored
	FirstRecordedAt time.Time // store time of the first event
	LastRecordedAt  time.Time // store time of the last event
	LastPosition    int64     // position of the last event
	// Metadata is JSON object text.
	Metadata json.RawMessage
}

// State is a stream's reduced state as the server's reducer folds it.
type State struct {
	StreamID string // the stream folded
	// Version is the version of the last event folded in (0: none or version-neutral).
	Version int64
	// State is JSON text.
	State    json.RawMessage
	Category string // the stream's category, which picks the reducer; empty: none
	// Reducer is the kind of reducer (merge, declarative, python, ...).
	Reducer string
	// Revision is the reducer revision that folded the state.
	Revision string
	// SnapshotVersion is the version of the snapshot the fold started from; 0: the first
	// event.
	SnapshotVersion int64
	EventsRead      int64 // events read after the snapshot
	EventsApplied   int64 // events folded in (fewer on a time query)
	// Timestamp and RecordedAt are the newest natural and store times among the folded
	// events; zero when unknown.
	Timestamp  time.Time
	RecordedAt time.Time // see Timestamp
}

// Decode decodes the JSON state into v.
func (s *State) Decode(v any) error {
	return json.Unmarshal(s.State, v)
}

// Snapshot is a stored state of a stream at a version.
type Snapshot struct {
	StreamID string // the stream it is a state of
	Version  int64  // the version of the last event folded into it
	// Payload is JSON text.
	Payload json.RawMessage
	// Revision names what made it ("client" by default for snapshots set by clients).
	Revision string
	// Timestamp is the natural time of the state; zero: unknown.
	Timestamp time.Time
	Label     string    // free text
	CreatedAt time.Time // when it was stored
	// ExpiresAt is zero when it never expires.
	ExpiresAt time.Time
}

// Decode decodes the snapshot's JSON payload into v.
func (s *Snapshot) Decode(v any) error {
	return json.Unmarshal(s.Payload, v)
}

// SnapshotInput is a state of a stream to store with [Client.SetSnapshot].
type SnapshotInput struct {
	StreamID string // the stream it is a state of
	// Version is between 1 and the stream's current version.
	Version int64
	// Payload is encoded with encoding/json (json.RawMessage passes as it is).
	Payload any
	// Revision names what made the state; empty: "client".
	Revision string
	// Timestamp is the natural time of the state; zero: unknown.
	Timestamp time.Time
	// Label is free text, up to 200 characters.
	Label string
	// TTL is how long to keep it; 0: the store's default.
	TTL time.Duration
}
