package flipbook

import (
	"context"
	"errors"
	"io"
	"iter"
	"sync"
	"time"

	pb "github.com/flipbook/flipbook/clients/go/internal/flipbookpb"
)

// Message is what a subscription stream delivers: an event, or once per stream the
// caught-up marker.
type Message struct {
	// Event is the delivered event; empty on the caught-up marker.
	Event Event
	// CaughtUp is true on the one message that says every event that existed when the
	// stream started has been delivered; live events follow.
	CaughtUp bool
	// Position is the event's position, or on the caught-up marker the feed's head then.
	Position int64
}

// SubscribeOption configures a subscription stream.
type SubscribeOption func(*subscribeConfig)

type subscribeConfig struct {
	maxInFlight int32
	reconnect   RetryPolicy
	onReconnect func(err error, wait time.Duration)
}

// MaxInFlight bounds the events the server sends beyond the checkpoint before it waits
// for acknowledgements (default 100, at most 10000).
func MaxInFlight(n int32) SubscribeOption {
	return func(c *subscribeConfig) { c.maxInFlight = n }
}

// OnReconnect is called before each reconnection wait with the error that broke the
// stream.
func OnReconnect(f func(err error, wait time.Duration)) SubscribeOption {
	return func(c *subscribeConfig) { c.onReconnect = f }
}

// ReconnectBackoff sets the waits between reconnections (InitialBackoff, MaxBackoff,
// Multiplier, Jitter; MaxAttempts counts consecutive failed connections before the
// stream gives up, 0: never). Default: 100 ms doubling to 2 s, ±20 %, never giving up.
func ReconnectBackoff(policy RetryPolicy) SubscribeOption {
	return func(c *subscribeConfig) { c.reconnect = policy }
}

// SubscriptionStream delivers a durable subscription's events (see [Client.Subscribe]).
// Acknowledge through it ([SubscriptionStream.Ack], [SubscriptionStream.Nack]) so that it
// can tell a redelivery after a reconnection from a delivery that is due.
type SubscriptionStream struct {
	c    *Client
	ctx  context.Context
	name string
	cfg  subscribeConfig

	mu sync.Mutex
	// delivered holds the positions handed to the consumer and not yet acknowledged or
	// nacked: the server sends them again after a reconnection, and the stream drops them.
	delivered map[int64]struct{}
	caughtUp  bool
}

// Subscribe streams the durable subscription name (create it first with
// [Subscriptions.Create]): the events after its checkpoint (catch up), one caught-up
// marker, then new events as they are committed (live), in position order. ctx bounds the
// whole stream, like a query's context bounds its rows.
//
// When the connection breaks (the server restarts, the network drops), the stream
// reconnects with backoff and goes on from the server's checkpoint; events it had already
// delivered and that are not yet acknowledged are not delivered twice, so a consumer that
// acknowledges what it processed sees no gap and no duplicate. An event nacked through
// the stream comes again, as the server redelivers it.
//
//	stream := client.Subscribe(ctx, "billing")
//	for msg, err := range stream.Messages() {
//		if err != nil { return err }
//		if msg.CaughtUp { continue }
//		handle(msg.Event)
//		if err := stream.Ack(ctx, msg.Position); err != nil { ... }
//	}
func (c *Client) Subscribe(ctx context.Context, name string, opts ...SubscribeOption) *SubscriptionStream {
	reconnect := DefaultRetryPolicy()
	reconnect.MaxAttempts = 0
	cfg := subscribeConfig{maxInFlight: 100, reconnect: reconnect}
	for _, opt := range opts {
		opt(&cfg)
	}
	return &SubscriptionStream{c: c, ctx: ctx, name: name, cfg: cfg, delivered: map[int64]struct{}{}}
}

// errStreamEnded marks a subscription stream the server closed without an error (it
// does so when it shuts down): the stream reconnects.
var errStreamEnded = errors.New("flipbook: the server ended the subscription stream")

// Messages iterates over the stream's messages until the consumer stops, the context
// ends (the last value is then its error), or an error that reconnecting cannot cure
// ([ErrNotFound] for a subscription that does not exist, [ErrPermissionDenied], ...). A
// loop that breaks ends the underlying call: no goroutine is left behind.
func (s *SubscriptionStream) Messages() iter.Seq2[Message, error] {
	return func(yield func(Message, error) bool) {
		ctx, cancel := context.WithCancel(s.ctx)
		defer cancel()
		failures := 0
		for {
			received, stopped, err := s.streamOnce(ctx, yield)
			if stopped {
				return
			}
			if ctx.Err() != nil {
				yield(Message{}, ctx.Err())
				return
			}
			if !IsRetryable(err) && !errors.Is(err, errStreamEnded) {
				yield(Message{}, err)
				return
			}
			if received {
				failures = 0
			}
			failures++
			if s.cfg.reconnect.MaxAttempts > 0 && failures >= s.cfg.reconnect.MaxAttempts {
				yield(Message{}, err)
				return
			}
			wait := s.cfg.reconnect.wait(failures)
			if sleep(ctx, wait, func(d time.Duration) {
				if s.cfg.onReconnect != nil {
					s.cfg.onReconnect(err, d)
				}
			}) != nil {
				yield(Message{}, ctx.Err())
				return
			}
		}
	}
}

// streamOnce runs one Subscribe call until it breaks or the consumer stops. It returns
// whether any message came, whether the consumer stopped, and the error that ended it.
func (s *SubscriptionStream) streamOnce(ctx context.Context, yield func(Message, error) bool) (received, stopped bool, err error) {
	callCtx, cancel := context.WithCancel(s.c.outgoing(ctx))
	defer cancel()
	request := &pb.SubscribeRequest{Name: s.name, MaxInFlight: s.cfg.maxInFlight}
	stream, err := s.c.events.Subscribe(callCtx, request)
	if err != nil {
		return false, false, errorOf(err, nil)
	}
	for {
		message, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return received, false, errStreamEnded
		}
		if err != nil {
			return received, false, errorOf(err, stream.Trailer())
		}
		received = true
		if caughtUp := message.GetCaughtUp(); caughtUp != nil {
			s.mu.Lock()
			first := !s.caughtUp
			s.caughtUp = true
			s.mu.Unlock()
			if first && !yield(Message{CaughtUp: true, Position: caughtUp.GetPosition()}, nil) {
				return received, true, nil
			}
			continue
		}
		event := eventOf(message.GetEvent())
		s.mu.Lock()
		_, again := s.delivered[event.Position]
		s.delivered[event.Position] = struct{}{}
		s.mu.Unlock()
		if again {
			continue // sent again after a reconnection; the consumer has it
		}
		if !yield(Message{Event: event, Position: event.Position}, nil) {
			return received, true, nil
		}
	}
}

// Ack acknowledges every event at or below position (cumulative). It is retried when the
// server is unavailable; an ack that still fails does no harm to the stream, as a later
// ack covers the same events.
func (s *SubscriptionStream) Ack(ctx context.Context, position int64) error {
	if _, err := s.c.Subscriptions().Ack(ctx, s.name, position); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for p := range s.delivered {
		if p <= position {
			delete(s.delivered, p)
		}
	}
	return nil
}

// Nack reports that the event at position failed (those before it count as acknowledged);
// the server delivers it again on this stream, and parks it after the subscription's max
// attempts.
func (s *SubscriptionStream) Nack(ctx context.Context, position int64, reason string) (*NackResult, error) {
	// Forget it first: the server may send it again before this call returns.
	s.mu.Lock()
	delete(s.delivered, position)
	s.mu.Unlock()
	result, err := s.c.Subscriptions().Nack(ctx, s.name, position, reason)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for p := range s.delivered {
		if p < position {
			delete(s.delivered, p)
		}
	}
	return result, nil
}
