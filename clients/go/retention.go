package flipbook

import (
	"context"
	"time"

	pb "github.com/flipbook/flipbook/clients/go/internal/flipbookpb"
)

// Retention is the retention policy a scavenge applies to a stream.
type Retention struct {
	StreamID string
	// Source is "stream" (its own policy), "category" (its category's FLIPBOOK_RETENTION)
	// or "none".
	Source string
	// MaxAge is the seconds an event is kept after it was recorded; nil: no limit.
	MaxAge *int64
	// MaxCount is how many of the newest events are kept; nil: no limit.
	MaxCount  *int64
	Category  string    // empty: none, or the stream has no events
	UpdatedAt time.Time // when the stream's own policy was set; zero otherwise
}

// RetentionPolicy is what SetStreamRetention asks for: at least one of MaxAge (seconds) and
// MaxCount, each positive; nil leaves it unlimited.
type RetentionPolicy struct {
	MaxAge   *int64
	MaxCount *int64
}

// ScavengeReport is what one scavenge request did. Complete is false when it stopped at its
// limit: call Scavenge again for the rest.
type ScavengeReport struct {
	TruncatedStreams int64 // streams whose retention moved their truncation point
	ScavengedStreams int64 // streams that lost events for good
	RemovedEvents    int64
	Complete         bool
}

// Erasure is what an erasure of a subject's personal data did.
type Erasure struct {
	Subject          string
	KeysDestroyed    int64
	Streams          int64 // streams that held the subject's fields
	SnapshotsDropped int64
	ErasedAt         time.Time
	ErasedBy         string // the API key, as the audit trail names it
	AuditID          int64
}

func retentionOf(m *pb.Retention) *Retention {
	r := &Retention{
		StreamID:  m.GetStreamId(),
		Source:    m.GetSource(),
		Category:  m.GetCategory(),
		UpdatedAt: timeOf(m.GetUpdatedAt()),
	}
	if m.MaxAge != nil {
		value := m.GetMaxAge()
		r.MaxAge = &value
	}
	if m.MaxCount != nil {
		value := m.GetMaxCount()
		r.MaxCount = &value
	}
	return r
}

// StreamRetention returns the retention policy a scavenge applies to a stream: its own,
// else its category's, else none (Source says which).
func (c *Client) StreamRetention(ctx context.Context, streamID string) (*Retention, error) {
	request := &pb.GetRetentionRequest{StreamId: streamID}
	message, err := unary(ctx, c, true, c.events.GetRetention, request)
	if err != nil {
		return nil, err
	}
	return retentionOf(message), nil
}

// SetStreamRetention gives a stream its own retention policy (like KurrentDB's
// $maxAge/$maxCount), replacing its category's; a scavenge applies it. [ErrValidation]
// unless at least one limit is given and each is positive; [ErrStreamDeleted] on a tombstone.
func (c *Client) SetStreamRetention(ctx context.Context, streamID string, policy RetentionPolicy) (*Retention, error) {
	request := &pb.SetRetentionRequest{StreamId: streamID, MaxAge: policy.MaxAge, MaxCount: policy.MaxCount}
	message, err := unary(ctx, c, true, c.events.SetRetention, request)
	if err != nil {
		return nil, err
	}
	return retentionOf(message), nil
}

// ClearStreamRetention removes a stream's own retention policy and returns the policy that
// applies now (its category's, or none). [ErrNotFound] when it had none of its own. Not
// retried: a second clear answers ErrNotFound.
func (c *Client) ClearStreamRetention(ctx context.Context, streamID string) (*Retention, error) {
	request := &pb.GetRetentionRequest{StreamId: streamID}
	message, err := unary(ctx, c, false, c.events.ClearRetention, request)
	if err != nil {
		return nil, err
	}
	return retentionOf(message), nil
}

// Scavenge asks the server to apply retention and remove for good what deletes and
// truncations hid, in writes of batch events (0: the server's default), stopping after limit
// removed events (0: the server's most). Repeat while the report is not Complete. Needs an
// admin key valid for every stream.
func (c *Client) Scavenge(ctx context.Context, batch, limit int64) (*ScavengeReport, error) {
	request := &pb.ScavengeRequest{Batch: batch, Limit: limit}
	message, err := unary(ctx, c, true, c.events.Scavenge, request)
	if err != nil {
		return nil, err
	}
	return &ScavengeReport{
		TruncatedStreams: message.GetTruncatedStreams(),
		ScavengedStreams: message.GetScavengedStreams(),
		RemovedEvents:    message.GetRemovedEvents(),
		Complete:         message.GetComplete(),
	}, nil
}

// Erase destroys a subject's data keys (crypto-shredding): its encrypted fields read as
// erased everywhere from then on. [ErrNotFound] when nothing is stored for the subject.
// Needs an admin key valid for every stream. Cannot be undone; not retried.
func (c *Client) Erase(ctx context.Context, subject string) (*Erasure, error) {
	message, err := unary(ctx, c, false, c.events.Erase, &pb.EraseRequest{Subject: subject})
	if err != nil {
		return nil, err
	}
	return &Erasure{
		Subject:          message.GetSubject(),
		KeysDestroyed:    message.GetKeysDestroyed(),
		Streams:          message.GetStreams(),
		SnapshotsDropped: message.GetSnapshotsDropped(),
		ErasedAt:         timeOf(message.GetErasedAt()),
		ErasedBy:         message.GetErasedBy(),
		AuditID:          message.GetAuditId(),
	}, nil
}
