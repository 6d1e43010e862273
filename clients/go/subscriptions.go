package flipbook

import (
	"context"
	"iter"
	"time"

	pb "github.com/flipbook/flipbook/clients/go/internal/flipbookpb"
)

// SubscriptionFilter says which events a durable subscription receives. Category and
// StreamID exclude each other; neither: the whole all-feed.
type SubscriptionFilter struct {
	Category string // only events of streams of this category
	StreamID string // only events of this stream
	// Names keeps only events of these names; empty: every name.
	Names []string
}

// Subscription is a durable subscription as the server reports it.
type Subscription struct {
	Name   string             // its unique name
	Filter SubscriptionFilter // which events it receives
	// Checkpoint: every matching event at or below it is acknowledged or parked.
	Checkpoint int64
	// Lag is the number of matching events after the checkpoint (at least, when
	// LagCapped).
	Lag       int64
	LagCapped bool // Lag is a lower bound
	// Status is "live", "behind", "stalled", "idle" or "paused".
	Status        string
	LastHeartbeat time.Time // the last sign of a consumer; zero: never
	// Parked counts parked events.
	Parked      int64
	MaxAttempts int32     // failures before an event is parked
	CreatedAt   time.Time // when it was created
	// Paused: an operator paused it; nothing is delivered until it is resumed.
	Paused bool
}

// SubscriptionStart says where a new subscription (or a reset) starts.
type SubscriptionStart struct {
	after int64
	end   bool
}

var (
	// FromBeginning delivers every event in the store.
	FromBeginning = SubscriptionStart{}
	// FromEnd delivers only events committed from now on.
	FromEnd = SubscriptionStart{end: true}
)

// After delivers the events with a position above p.
func After(p int64) SubscriptionStart { return SubscriptionStart{after: p} }

// CreateSubscriptionOptions are the optional settings of a new subscription.
type CreateSubscriptionOptions struct {
	Start SubscriptionStart // FromBeginning (the zero value), FromEnd or After(p)
	// MaxAttempts is the number of failures before an event is parked; 0: 5.
	MaxAttempts int32
}

// Subscriptions manages durable subscriptions: named consumers of the all-feed (or one
// category, one stream, some event names) with a checkpoint stored by the server. Get it
// from [Client.Subscriptions].
type Subscriptions struct {
	c *Client
}

// Subscriptions returns the durable subscriptions' calls.
func (c *Client) Subscriptions() *Subscriptions { return &Subscriptions{c: c} }

func subscriptionOf(m *pb.Subscription) Subscription {
	return Subscription{
		Name: m.GetName(),
		Filter: SubscriptionFilter{
			Category: m.GetFilter().GetCategory(),
			StreamID: m.GetFilter().GetStreamId(),
			Names:    m.GetFilter().GetNames(),
		},
		Checkpoint:    m.GetCheckpoint(),
		Lag:           m.GetLag(),
		LagCapped:     m.GetLagCapped(),
		Status:        m.GetStatus(),
		LastHeartbeat: timeOf(m.GetLastHeartbeat()),
		Parked:        m.GetParked(),
		MaxAttempts:   m.GetMaxAttempts(),
		CreatedAt:     timeOf(m.GetCreatedAt()),
		Paused:        m.GetPaused(),
	}
}

func subscriptionResult(m *pb.Subscription, err error) (*Subscription, error) {
	if err != nil {
		return nil, err
	}
	s := subscriptionOf(m)
	return &s, nil
}

// Create creates a pull subscription; [ErrAlreadyExists] when the name is taken. Names are
// 1-100 letters, digits, "-", "_" and ".".
func (s *Subscriptions) Create(ctx context.Context, name string, filter SubscriptionFilter, opts CreateSubscriptionOptions) (*Subscription, error) {
	request := &pb.CreateSubscriptionRequest{
		Name: name,
		Filter: &pb.SubscriptionFilter{
			Category: filter.Category, StreamId: filter.StreamID, Names: filter.Names,
		},
		MaxAttempts: opts.MaxAttempts,
	}
	switch {
	case opts.Start.end:
		request.StartAt = &pb.CreateSubscriptionRequest_Start{Start: pb.SubscriptionStart_SUBSCRIPTION_START_END}
	case opts.Start.after > 0:
		request.StartAt = &pb.CreateSubscriptionRequest_StartAfter{StartAfter: opts.Start.after}
	default:
		request.StartAt = &pb.CreateSubscriptionRequest_Start{Start: pb.SubscriptionStart_SUBSCRIPTION_START_BEGINNING}
	}
	return subscriptionResult(unary(ctx, s.c, false, s.c.subscriptions.CreateSubscription, request))
}

// Get returns a subscription with its checkpoint, lag and status; [ErrNotFound] when there
// is none of that name.
func (s *Subscriptions) Get(ctx context.Context, name string) (*Subscription, error) {
	return subscriptionResult(unary(ctx, s.c, true, s.c.subscriptions.GetSubscription, &pb.GetSubscriptionRequest{Name: name}))
}

// List iterates over every subscription.
func (s *Subscriptions) List(ctx context.Context) iter.Seq2[Subscription, error] {
	return func(yield func(Subscription, error) bool) {
		request := &pb.ListSubscriptionsRequest{Limit: 100}
		for {
			response, err := unary(ctx, s.c, true, s.c.subscriptions.ListSubscriptions, request)
			if err != nil {
				yield(Subscription{}, err)
				return
			}
			for _, item := range response.GetItems() {
				if !yield(subscriptionOf(item), nil) {
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

// Delete deletes a subscription and its checkpoint.
func (s *Subscriptions) Delete(ctx context.Context, name string) error {
	_, err := unary(ctx, s.c, false, s.c.subscriptions.DeleteSubscription, &pb.DeleteSubscriptionRequest{Name: name})
	return err
}

// Batch is what [Subscriptions.Next] delivers: events in position order and the
// subscription's checkpoint when they were sent.
type Batch struct {
	Events     []Event // in position order
	Checkpoint int64   // the subscription's checkpoint then
}

// Next returns the next events after the checkpoint (at most max; 0: 100), waiting up to
// wait (at most 30 s) when there are none. Events not acknowledged come again on the next
// call (at-least-once).
func (s *Subscriptions) Next(ctx context.Context, name string, max int32, wait time.Duration) (*Batch, error) {
	request := &pb.NextRequest{Name: name, Max: max, WaitSeconds: wait.Seconds()}
	response, err := unary(ctx, s.c, true, s.c.subscriptions.Next, request)
	if err != nil {
		return nil, err
	}
	batch := &Batch{Checkpoint: response.GetCheckpoint()}
	for _, e := range response.GetEvents() {
		batch.Events = append(batch.Events, eventOf(e))
	}
	return batch, nil
}

// Ack acknowledges every event at or below position (cumulative; it never moves the
// checkpoint back, so it is retried safely).
func (s *Subscriptions) Ack(ctx context.Context, name string, position int64) (*Subscription, error) {
	request := &pb.AckRequest{Name: name, Position: position}
	return subscriptionResult(unary(ctx, s.c, true, s.c.subscriptions.Ack, request))
}

// NackResult is the outcome of a nack.
type NackResult struct {
	Position int64 // the nacked event
	// Attempts counts the event's failures so far.
	Attempts int32
	// Parked is true when the event reached the subscription's max attempts.
	Parked     bool
	Checkpoint int64 // the subscription's checkpoint after the nack
}

// Nack reports that the event at position failed (those before it count as acknowledged):
// it is delivered again, and parked after the subscription's max attempts. Not retried:
// each nack counts an attempt.
func (s *Subscriptions) Nack(ctx context.Context, name string, position int64, reason string) (*NackResult, error) {
	request := &pb.NackRequest{Name: name, Position: position, Error: reason}
	response, err := unary(ctx, s.c, false, s.c.subscriptions.Nack, request)
	if err != nil {
		return nil, err
	}
	return &NackResult{
		Position: response.GetPosition(), Attempts: response.GetAttempts(),
		Parked: response.GetParked(), Checkpoint: response.GetCheckpoint(),
	}, nil
}

// Reset moves the checkpoint to start ([FromBeginning], [FromEnd] or [After]).
func (s *Subscriptions) Reset(ctx context.Context, name string, start SubscriptionStart) (*Subscription, error) {
	request := &pb.ResetSubscriptionRequest{Name: name}
	switch {
	case start.end:
		request.To = &pb.ResetSubscriptionRequest_Start{Start: pb.SubscriptionStart_SUBSCRIPTION_START_END}
	case start.after > 0:
		request.To = &pb.ResetSubscriptionRequest_After{After: start.after}
	default:
		request.To = &pb.ResetSubscriptionRequest_Start{Start: pb.SubscriptionStart_SUBSCRIPTION_START_BEGINNING}
	}
	return subscriptionResult(unary(ctx, s.c, false, s.c.subscriptions.ResetSubscription, request))
}

// Pause stops delivery (Next returns empty batches, push and Subscribe streams send
// nothing) until [Subscriptions.Resume]; the checkpoint stays. Needs write scope. Retried:
// pausing a paused subscription changes nothing.
func (s *Subscriptions) Pause(ctx context.Context, name string) (*Subscription, error) {
	request := &pb.PauseSubscriptionRequest{Name: name}
	return subscriptionResult(unary(ctx, s.c, true, s.c.subscriptions.PauseSubscription, request))
}

// Resume goes on delivering a paused subscription's events from its checkpoint. Needs write
// scope. Retried: resuming a running subscription changes nothing.
func (s *Subscriptions) Resume(ctx context.Context, name string) (*Subscription, error) {
	request := &pb.ResumeSubscriptionRequest{Name: name}
	return subscriptionResult(unary(ctx, s.c, true, s.c.subscriptions.ResumeSubscription, request))
}

// ParkedEvent is an event a subscription gave up on after its max attempts.
type ParkedEvent struct {
	Position int64  // the event's position
	StreamID string // the event's stream
	// Version is 0 on version-neutral streams.
	Version  int64
	Name     string    // the event's name
	EventID  string    // the event's id
	Error    string    // the last failure's message
	Attempts int32     // failed deliveries
	ParkedAt time.Time // when it was parked
	// Status is "parked", "retry" once a retry was asked for, "sent" once delivered again.
	Status string
}

func parkedOf(m *pb.ParkedEvent) ParkedEvent {
	return ParkedEvent{
		Position: m.GetPosition(), StreamID: m.GetStreamId(), Version: m.GetVersion(),
		Name: m.GetName(), EventID: m.GetEventId(), Error: m.GetError(),
		Attempts: m.GetAttempts(), ParkedAt: timeOf(m.GetParkedAt()), Status: m.GetStatus(),
	}
}

// Parked iterates over a subscription's parked events, oldest first.
func (s *Subscriptions) Parked(ctx context.Context, name string) iter.Seq2[ParkedEvent, error] {
	return func(yield func(ParkedEvent, error) bool) {
		request := &pb.ListParkedRequest{Name: name, Limit: 100}
		for {
			response, err := unary(ctx, s.c, true, s.c.subscriptions.ListParked, request)
			if err != nil {
				yield(ParkedEvent{}, err)
				return
			}
			for _, item := range response.GetItems() {
				if !yield(parkedOf(item), nil) {
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

// RetryParked delivers a parked event once more (first in the next batch of a pull
// consumer).
func (s *Subscriptions) RetryParked(ctx context.Context, name string, position int64) (*ParkedEvent, error) {
	request := &pb.ParkedEventRequest{Name: name, Position: position}
	message, err := unary(ctx, s.c, false, s.c.subscriptions.RetryParked, request)
	if err != nil {
		return nil, err
	}
	parked := parkedOf(message)
	return &parked, nil
}

// SkipParked drops a parked event for good.
func (s *Subscriptions) SkipParked(ctx context.Context, name string, position int64) (*Subscription, error) {
	request := &pb.ParkedEventRequest{Name: name, Position: position}
	return subscriptionResult(unary(ctx, s.c, false, s.c.subscriptions.SkipParked, request))
}

// ReplayParked moves the checkpoint back to just before a parked event: everything from it
// is delivered again.
func (s *Subscriptions) ReplayParked(ctx context.Context, name string, position int64) (*Subscription, error) {
	request := &pb.ParkedEventRequest{Name: name, Position: position}
	return subscriptionResult(unary(ctx, s.c, false, s.c.subscriptions.ReplayParked, request))
}
