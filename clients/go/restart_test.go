package flipbook_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	flipbook "github.com/flipbook/flipbook/clients/go"
	"github.com/flipbook/flipbook/clients/go/internal/testserver"
)

// These tests kill a server of their own with SIGKILL and start it again on the same ports
// and database.

func TestServerKilledAndRestarted(t *testing.T) {
	srv, err := testserver.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	t.Run("RetriesOnlyIdempotentCalls", func(t *testing.T) { testRetriesOnlyIdempotentCalls(t, srv) })
	t.Run("SubscriberResumesWithoutGapOrDuplicate", func(t *testing.T) { testSubscriberResumes(t, srv) })
}

// restartLater restarts srv after delay and reports the outcome on the returned channel.
func restartLater(srv *testserver.Server, delay time.Duration) <-chan error {
	done := make(chan error, 1)
	go func() {
		time.Sleep(delay)
		done <- srv.Restart()
	}()
	return done
}

func testRetriesOnlyIdempotentCalls(t *testing.T, srv *testserver.Server) {
	var retries atomic.Int32
	policy := flipbook.RetryPolicy{
		MaxAttempts: 200, InitialBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond,
		Multiplier: 2, Jitter: 0.2,
		OnRetry: func(int, error, time.Duration) { retries.Add(1) },
	}
	client, err := flipbook.New(srv.GRPCTarget, flipbook.WithAPIKey(srv.Key), flipbook.WithRetryPolicy(policy))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	stream := runID(t) + "/retried"
	if _, err := client.Append(ctx, stream, flipbook.NoStream, events("Opened")); err != nil {
		t.Fatal(err)
	}

	srv.Kill()
	// Without event ids an append is not safe to repeat: it fails at once.
	_, err = client.Append(ctx, stream, flipbook.AnyVersion, events("Lost"))
	if !errors.Is(err, flipbook.ErrUnavailable) || retries.Load() != 0 {
		t.Fatalf("an append without ids: %v after %d retries", err, retries.Load())
	}
	restarted := restartLater(srv, 300*time.Millisecond)
	info, err := client.Stream(ctx, stream) // a read: retried until the server is back
	if err != nil || info.Version != 1 {
		t.Fatalf("stream after the restart: %+v %v", info, err)
	}
	if err := <-restarted; err != nil {
		t.Fatal(err)
	}
	if retries.Load() == 0 {
		t.Fatal("the read succeeded without a retry: the server was not down")
	}

	srv.Kill()
	retries.Store(0)
	restarted = restartLater(srv, 300*time.Millisecond)
	id := flipbook.NewEventID()
	result, err := client.Append(ctx, stream, flipbook.ExactVersion(1), []flipbook.NewEvent{{ID: id, Name: "Deposited", Payload: 5}})
	if err != nil || result.Version != 2 {
		t.Fatalf("an append with ids across a restart: %+v %v", result, err)
	}
	if err := <-restarted; err != nil {
		t.Fatal(err)
	}
	if retries.Load() == 0 {
		t.Fatal("the append succeeded without a retry: the server was not down")
	}
	var ids []string
	for event, err := range client.Read(ctx, stream) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, event.ID)
	}
	if len(ids) != 2 || ids[1] != id {
		t.Fatalf("stored %v", ids)
	}
}

func testSubscriberResumes(t *testing.T, srv *testserver.Server) {
	client, err := flipbook.New(srv.GRPCTarget, flipbook.WithAPIKey(srv.Key))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	name := subscriptionName(t, "resume")
	const before, after = 30, 30
	expected := appendN(t, client, name+"/s", name, before)
	if _, err := client.Subscriptions().Create(ctx, name, flipbook.SubscriptionFilter{Category: name}, flipbook.CreateSubscriptionOptions{}); err != nil {
		t.Fatal(err)
	}
	var reconnects atomic.Int32
	sub := client.Subscribe(ctx, name, flipbook.MaxInFlight(8),
		flipbook.OnReconnect(func(error, time.Duration) { reconnects.Add(1) }))
	var received []int64
	var restarted <-chan error
	appended := make(chan []int64, 1)
	for msg, err := range sub.Messages() {
		if err != nil {
			t.Fatal(err)
		}
		if msg.CaughtUp {
			continue
		}
		received = append(received, msg.Position)
		// Acknowledge every fourth event only: at the kill, some delivered events are not
		// acknowledged, and the server sends them again after the restart.
		if len(received)%4 == 0 {
			if err := sub.Ack(ctx, msg.Position); err != nil && !errors.Is(err, flipbook.ErrUnavailable) {
				t.Fatal(err)
			}
		}
		if len(received) == 10 {
			srv.Kill()
			done := make(chan error, 1)
			restarted = done
			go func() {
				err := srv.Restart()
				if err == nil {
					more, appendErr := appendAll(client, name+"/s", name, after)
					err = appendErr
					appended <- more
				}
				done <- err
			}()
		}
		if len(received) == before+after {
			break
		}
	}
	if err := <-restarted; err != nil {
		t.Fatal(err)
	}
	expected = append(expected, <-appended...)
	if fmt.Sprint(received) != fmt.Sprint(expected) {
		t.Fatalf("received %v\nwant     %v", received, expected)
	}
	if reconnects.Load() == 0 {
		t.Fatal("the stream never reconnected: the kill did not reach it")
	}
	if err := sub.Ack(ctx, received[len(received)-1]); err != nil {
		t.Fatal(err)
	}
	info, err := client.Subscriptions().Get(ctx, name)
	if err != nil || info.Lag != 0 {
		t.Fatalf("after the last ack: %+v %v", info, err)
	}
}

// appendAll appends n events one by one (each its own commit) and returns their positions.
func appendAll(client *flipbook.Client, stream, category string, n int) ([]int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var positions []int64
	for i := range n {
		result, err := client.Append(ctx, stream, flipbook.AnyVersion,
			[]flipbook.NewEvent{{ID: flipbook.NewEventID(), Name: "Tick", Payload: i}}, flipbook.WithCategory(category))
		if err != nil {
			return nil, err
		}
		positions = append(positions, result.Events[0].Position)
	}
	return positions, nil
}
