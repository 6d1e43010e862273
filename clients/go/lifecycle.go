package flipbook

import (
	"context"

	pb "github.com/flipbook/flipbook/clients/go/internal/flipbookpb"
)

// DeleteStream deletes a stream and returns its head as it was. A soft delete (hard false)
// makes reads answer [ErrNotFound] until an append starts the stream again, its versions
// continuing after the old last one; a hard delete leaves a tombstone, and every later read
// or append answers [ErrStreamDeleted]. A missing stream is [ErrNotFound]. Not retried: a
// second soft delete answers ErrNotFound.
func (c *Client) DeleteStream(ctx context.Context, streamID string, hard bool) (*StreamInfo, error) {
	request := &pb.DeleteRequest{StreamId: streamID, Hard: hard}
	message, err := unary(ctx, c, false, c.events.Delete, request)
	if err != nil {
		return nil, err
	}
	info := streamInfoOf(message)
	return &info, nil
}

// TruncateStream hides a stream's events below version before (a position on
// version-neutral streams); reads then start there. Returns the new head.
func (c *Client) TruncateStream(ctx context.Context, streamID string, before int64) (*StreamInfo, error) {
	request := &pb.TruncateRequest{StreamId: streamID, Before: before}
	message, err := unary(ctx, c, true, c.events.Truncate, request)
	if err != nil {
		return nil, err
	}
	info := streamInfoOf(message)
	return &info, nil
}
