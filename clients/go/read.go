package flipbook

import (
	"context"
	"errors"
	"io"
	"iter"
	"time"

	pb "github.com/flipbook/flipbook/clients/go/internal/flipbookpb"
	"google.golang.org/grpc"
)

// DefaultPageSize is the number of events an iterator asks for per call.
const DefaultPageSize = 500

// readAllMessages runs one server-streaming call to its end and returns every message,
// retried as a whole under the client's policy (every such call here reads, so it is
// safe to repeat).
func readAllMessages[Req, Resp any](
	ctx context.Context,
	c *Client,
	method func(context.Context, Req, ...grpc.CallOption) (grpc.ServerStreamingClient[Resp], error),
	request Req,
) ([]*Resp, error) {
	var messages []*Resp
	err := c.retry.do(ctx, true, func() error {
		messages = messages[:0]
		callCtx, cancel := context.WithCancel(c.outgoing(ctx))
		defer cancel()
		stream, err := method(callCtx, request)
		if err != nil {
			return errorOf(err, nil)
		}
		for {
			message, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return errorOf(err, stream.Trailer())
			}
			messages = append(messages, message)
		}
	})
	return messages, err
}

// ReadOption narrows or orders a read of one stream.
type ReadOption func(*readQuery)

type readQuery struct {
	from, to     int64
	since, until time.Time
	backwards    bool
	pageSize     int32
}

// FromVersion starts the read at version v (inclusive; a position on version-neutral
// streams).
func FromVersion(v int64) ReadOption { return func(q *readQuery) { q.from = v } }

// ToVersion ends the read at version v (inclusive).
func ToVersion(v int64) ReadOption { return func(q *readQuery) { q.to = v } }

// Since reads only events whose natural time is at or after t; time-neutral events are
// left out of any read by time.
func Since(t time.Time) ReadOption { return func(q *readQuery) { q.since = t } }

// Until reads only events whose natural time is at or before t.
func Until(t time.Time) ReadOption { return func(q *readQuery) { q.until = t } }

// Backwards reads from the newest event to the oldest.
func Backwards() ReadOption { return func(q *readQuery) { q.backwards = true } }

// PageSize sets how many events one call fetches (default [DefaultPageSize]).
func PageSize(n int) ReadOption {
	return func(q *readQuery) { q.pageSize = int32(max(1, min(n, 1<<20))) }
}

func (q readQuery) request(streamID, cursor string) *pb.ReadRequest {
	direction := pb.Direction_DIRECTION_FORWARDS
	if q.backwards {
		direction = pb.Direction_DIRECTION_BACKWARDS
	}
	return &pb.ReadRequest{
		StreamId:    streamID,
		FromVersion: q.from,
		ToVersion:   q.to,
		Since:       timestampOf(q.since),
		Until:       timestampOf(q.until),
		Direction:   direction,
		Limit:       q.pageSize,
		Cursor:      cursor,
	}
}

// Page is one page of a stream's events; pass NextCursor to [Client.ReadPage] to go on
// (empty: there is nothing more now).
type Page struct {
	Events     []Event // in the read's order
	NextCursor string  // empty: no more events now
}

// ReadPage reads one page of a stream's events (at most PageSize of them) from cursor
// ("" for the first page). A stream without events reads as empty.
func (c *Client) ReadPage(ctx context.Context, streamID, cursor string, opts ...ReadOption) (*Page, error) {
	query := readQuery{pageSize: DefaultPageSize}
	for _, opt := range opts {
		opt(&query)
	}
	messages, err := readAllMessages(ctx, c, c.events.Read, query.request(streamID, cursor))
	if err != nil {
		return nil, err
	}
	page := &Page{}
	for _, m := range messages {
		if event := m.GetEvent(); event != nil {
			page.Events = append(page.Events, eventOf(event))
		} else {
			page.NextCursor = m.GetNextCursor()
		}
	}
	return page, nil
}

// Read iterates over a stream's events in order (see [FromVersion], [ToVersion], [Since],
// [Until], [Backwards]), fetching a page per call; memory stays bounded whatever the
// stream's length. A failed call ends the iteration with its error.
//
//	for event, err := range client.Read(ctx, "account-42") {
//		if err != nil { return err }
//		...
//	}
func (c *Client) Read(ctx context.Context, streamID string, opts ...ReadOption) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		cursor := ""
		for {
			page, err := c.ReadPage(ctx, streamID, cursor, opts...)
			if err != nil {
				yield(Event{}, err)
				return
			}
			for _, event := range page.Events {
				if !yield(event, nil) {
					return
				}
			}
			if page.NextCursor == "" {
				return
			}
			cursor = page.NextCursor
		}
	}
}

// Latest returns the last event of a stream; [ErrNotFound] when it has none.
func (c *Client) Latest(ctx context.Context, streamID string) (*Event, error) {
	message, err := unary(ctx, c, true, c.events.GetLatest, &pb.GetLatestRequest{StreamId: streamID})
	if err != nil {
		return nil, err
	}
	event := eventOf(message)
	return &event, nil
}

// Stream returns the head of a stream ("version 0"): kind, category, version, counts;
// [ErrNotFound] when it has no events.
func (c *Client) Stream(ctx context.Context, streamID string) (*StreamInfo, error) {
	message, err := unary(ctx, c, true, c.events.GetStream, &pb.GetStreamRequest{StreamId: streamID})
	if err != nil {
		return nil, err
	}
	info := streamInfoOf(message)
	return &info, nil
}

// ListStreams iterates over stream heads ordered by id, only those whose id starts with
// prefix and of category when they are not empty.
func (c *Client) ListStreams(ctx context.Context, prefix, category string) iter.Seq2[StreamInfo, error] {
	return func(yield func(StreamInfo, error) bool) {
		request := &pb.ListStreamsRequest{Prefix: prefix, Category: category, Limit: 100}
		for {
			response, err := unary(ctx, c, true, c.events.ListStreams, request)
			if err != nil {
				yield(StreamInfo{}, err)
				return
			}
			for _, info := range response.GetStreams() {
				if !yield(streamInfoOf(info), nil) {
					return
				}
			}
			if response.GetNextCursor() == "" {
				return
			}
			request.Cursor = response.GetNextCursor()
		}
	}
}

// FeedOption filters or pages a read of the all-feed.
type FeedOption func(*feedQuery)

type feedQuery struct {
	categories, names []string
	pageSize          int32
}

// Categories reads only events of streams of these categories.
func Categories(categories ...string) FeedOption {
	return func(q *feedQuery) { q.categories = append(q.categories, categories...) }
}

// Names reads only events of these names.
func Names(names ...string) FeedOption {
	return func(q *feedQuery) { q.names = append(q.names, names...) }
}

// FeedPageSize sets how many events one call of the all-feed fetches (default
// [DefaultPageSize]).
func FeedPageSize(n int) FeedOption {
	return func(q *feedQuery) { q.pageSize = int32(max(1, min(n, 1<<20))) }
}

// FeedPage is a page of the all-feed; continue after NextAfter.
type FeedPage struct {
	Events []Event // in position order
	// NextAfter is the position to continue from; it moves past filtered-out events too.
	NextAfter int64
}

// ReadAllPage reads one page of the all-feed: events of every stream with a position
// above after, in position order. Keys restricted to a stream prefix are refused.
func (c *Client) ReadAllPage(ctx context.Context, after int64, opts ...FeedOption) (*FeedPage, error) {
	query := feedQuery{pageSize: DefaultPageSize}
	for _, opt := range opts {
		opt(&query)
	}
	request := &pb.ReadAllRequest{After: after, Categories: query.categories, Names: query.names, Limit: query.pageSize}
	messages, err := readAllMessages(ctx, c, c.events.ReadAll, request)
	if err != nil {
		return nil, err
	}
	page := &FeedPage{NextAfter: after}
	for _, m := range messages {
		if event := m.GetEvent(); event != nil {
			page.Events = append(page.Events, eventOf(event))
		} else if checkpoint := m.GetCheckpoint(); checkpoint != nil {
			page.NextAfter = checkpoint.GetPosition()
		}
	}
	return page, nil
}

// ReadAll iterates over the all-feed after a position (0: from the start) up to the
// events that exist when it reaches the end, a page per call. To follow new events as
// they come, use a durable subscription ([Client.Subscribe]).
func (c *Client) ReadAll(ctx context.Context, after int64, opts ...FeedOption) iter.Seq2[Event, error] {
	query := feedQuery{pageSize: DefaultPageSize}
	for _, opt := range opts {
		opt(&query)
	}
	return func(yield func(Event, error) bool) {
		after := after
		for {
			page, err := c.ReadAllPage(ctx, after, opts...)
			if err != nil {
				yield(Event{}, err)
				return
			}
			for _, event := range page.Events {
				if !yield(event, nil) {
					return
				}
			}
			// A short page is the end, as the server's own feed reader decides.
			if len(page.Events) < int(query.pageSize) || page.NextAfter <= after {
				return
			}
			after = page.NextAfter
		}
	}
}
