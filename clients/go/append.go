package flipbook

import (
	"context"
	"errors"
	"strconv"

	pb "github.com/flipbook/flipbook/clients/go/internal/flipbookpb"
)

// AppendOption sets an optional field of an append.
type AppendOption func(*StreamAppend)

// WithCategory sets the stream's category on its first append.
func WithCategory(category string) AppendOption {
	return func(a *StreamAppend) { a.Category = category }
}

// WithKind declares the stream's kind on its first append ([KindNeutral] for a
// version-neutral log); a later append that disagrees is refused.
func WithKind(kind StreamKind) AppendOption {
	return func(a *StreamAppend) { a.Kind = kind }
}

// Append stores events at the end of one stream after checking expected (or the events'
// explicit versions). Re-sending events whose IDs are stored with the same content returns
// the stored result with Duplicate set; the same id with other content fails with
// [ErrIDConflict]. A failed check returns a [*VersionConflictError] naming the stream's
// current version, never a silent retry. Appends whose events all carry IDs are retried
// when the server is unavailable.
func (c *Client) Append(ctx context.Context, streamID string, expected ExpectedVersion, events []NewEvent, opts ...AppendOption) (*AppendResult, error) {
	stream := StreamAppend{StreamID: streamID, Expected: expected, Events: events}
	for _, opt := range opts {
		opt(&stream)
	}
	request, err := appendRequest(stream, "")
	if err != nil {
		return nil, err
	}
	response, err := unary(ctx, c, allEventsHaveIDs(events), c.events.Append, request)
	if err != nil {
		return nil, err
	}
	result := appendResultOf(response)
	return &result, nil
}

// Commit stores events for several streams atomically: every stream's check passes and all
// events are stored, or nothing is. Each stream appears at most once. Like [Client.Append],
// it is retried when unavailable only if every event carries an ID.
func (c *Client) Commit(ctx context.Context, streams ...StreamAppend) (*CommitResult, error) {
	if len(streams) == 0 {
		return nil, errors.New("flipbook: a commit needs at least one stream")
	}
	request := &pb.CommitRequest{Streams: make([]*pb.AppendRequest, len(streams))}
	idempotent := true
	for i, stream := range streams {
		message, err := appendRequest(stream, "streams["+strconv.Itoa(i)+"].")
		if err != nil {
			return nil, err
		}
		request.Streams[i] = message
		idempotent = idempotent && allEventsHaveIDs(stream.Events)
	}
	response, err := unary(ctx, c, idempotent, c.events.Commit, request)
	if err != nil {
		return nil, err
	}
	result := &CommitResult{Duplicate: response.GetDuplicate(), LastPosition: response.GetLastPosition()}
	for _, s := range response.GetStreams() {
		result.Streams = append(result.Streams, appendResultOf(s))
	}
	return result, nil
}
