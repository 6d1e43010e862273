package flipbook_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	flipbook "github.com/flipbook/flipbook/clients/go"
	"go.uber.org/goleak"
)

// subscriptionName is a valid subscription name unique to this run.
func subscriptionName(t *testing.T, what string) string {
	return strings.ReplaceAll(runID(t), "-", "") + "-" + what
}

func appendN(t *testing.T, client *flipbook.Client, stream, category string, n int) []int64 {
	t.Helper()
	var positions []int64
	for i := range n {
		result, err := client.Append(testContext(t), stream, flipbook.AnyVersion,
			[]flipbook.NewEvent{{Name: "Tick", Payload: i}}, flipbook.WithCategory(category))
		if err != nil {
			t.Fatal(err)
		}
		positions = append(positions, result.Events[0].Position)
	}
	return positions
}

func TestSubscribeCatchesUpThenGoesLive(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	client, err := flipbook.New(server.GRPCTarget, flipbook.WithAPIKey(server.Key))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx := testContext(t)
	name := subscriptionName(t, "live")
	stream := name + "/s"
	before := appendN(t, client, stream, name, 3)
	if _, err := client.Subscriptions().Create(ctx, name, flipbook.SubscriptionFilter{Category: name}, flipbook.CreateSubscriptionOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Subscriptions().Create(ctx, name, flipbook.SubscriptionFilter{}, flipbook.CreateSubscriptionOptions{}); !errors.Is(err, flipbook.ErrAlreadyExists) {
		t.Fatalf("a taken name: %v", err)
	}
	sub := client.Subscribe(ctx, name, flipbook.MaxInFlight(10))
	var got []int64
	caughtUp := false
	var live []int64
	for msg, err := range sub.Messages() {
		if err != nil {
			t.Fatal(err)
		}
		if msg.CaughtUp {
			if caughtUp || len(got) != 3 {
				t.Fatalf("caught-up marker after %v", got)
			}
			caughtUp = true
			live = appendN(t, client, stream, name, 2) // committed after the catch-up
			continue
		}
		got = append(got, msg.Position)
		if err := sub.Ack(ctx, msg.Position); err != nil {
			t.Fatal(err)
		}
		if len(got) == 5 {
			break
		}
	}
	want := fmt.Sprint(append(before, live...))
	if fmt.Sprint(got) != want {
		t.Fatalf("delivered %v, want %s", got, want)
	}
	info, err := client.Subscriptions().Get(ctx, name)
	if err != nil || info.Checkpoint != got[4] || info.Lag != 0 {
		t.Fatalf("after acks: %+v %v", info, err)
	}
}

func TestSubscriptionNackParksAfterMaxAttempts(t *testing.T) {
	client := newClient(t, server.GRPCTarget)
	ctx := testContext(t)
	name := subscriptionName(t, "nack")
	positions := appendN(t, client, name+"/s", name, 2)
	subs := client.Subscriptions()
	if _, err := subs.Create(ctx, name, flipbook.SubscriptionFilter{Category: name}, flipbook.CreateSubscriptionOptions{MaxAttempts: 2}); err != nil {
		t.Fatal(err)
	}
	sub := client.Subscribe(ctx, name)
	var deliveries []int64
	parkedNow := false
	for msg, err := range sub.Messages() {
		if err != nil {
			t.Fatal(err)
		}
		if msg.CaughtUp {
			continue
		}
		deliveries = append(deliveries, msg.Position)
		if msg.Position == positions[0] {
			// Not acknowledging the next event meanwhile: an ack is cumulative.
			result, err := sub.Nack(ctx, msg.Position, "cannot handle it")
			if err != nil {
				t.Fatal(err)
			}
			if result.Parked != (result.Attempts == 2) {
				t.Fatalf("nack result %+v", result)
			}
			parkedNow = result.Parked
		}
		if parkedNow && len(deliveries) == 3 {
			break
		}
	}
	// The nacked event came again (once, after the event already in flight), then was parked.
	counts := map[int64]int{}
	for _, p := range deliveries {
		counts[p]++
	}
	if counts[positions[0]] != 2 || counts[positions[1]] != 1 || deliveries[0] != positions[0] {
		t.Fatalf("deliveries %v of %v", deliveries, positions)
	}
	var parked []flipbook.ParkedEvent
	for p, err := range subs.Parked(ctx, name) {
		if err != nil {
			t.Fatal(err)
		}
		parked = append(parked, p)
	}
	if len(parked) != 1 || parked[0].Position != positions[0] || parked[0].Error != "cannot handle it" || parked[0].Attempts != 2 {
		t.Fatalf("parked %+v", parked)
	}
	// Retry it through the pull API: it comes first in the next batch.
	if _, err := subs.RetryParked(ctx, name, positions[0]); err != nil {
		t.Fatal(err)
	}
	batch, err := subs.Next(ctx, name, 10, time.Second)
	if err != nil || len(batch.Events) == 0 || batch.Events[0].Position != positions[0] {
		t.Fatalf("next after retry: %+v %v", batch, err)
	}
	if _, err := subs.Ack(ctx, name, positions[1]); err != nil {
		t.Fatal(err)
	}
	info, err := subs.Get(ctx, name)
	if err != nil || info.Parked != 0 || info.Checkpoint != positions[1] {
		t.Fatalf("after the retried event was acked: %+v %v", info, err)
	}
}

func TestPullSubscriptionNextAckResetDelete(t *testing.T) {
	client := newClient(t, server.GRPCTarget)
	ctx := testContext(t)
	name := subscriptionName(t, "pull")
	positions := appendN(t, client, name+"/s", name, 4)
	subs := client.Subscriptions()
	if _, err := subs.Create(ctx, name, flipbook.SubscriptionFilter{Category: name}, flipbook.CreateSubscriptionOptions{}); err != nil {
		t.Fatal(err)
	}
	batch, err := subs.Next(ctx, name, 3, 0)
	if err != nil || len(batch.Events) != 3 || batch.Events[0].Position != positions[0] {
		t.Fatalf("first batch %+v %v", batch, err)
	}
	again, err := subs.Next(ctx, name, 3, 0)
	if err != nil || again.Events[0].Position != positions[0] {
		t.Fatalf("unacknowledged events come again: %+v %v", again, err)
	}
	if _, err := subs.Ack(ctx, name, positions[2]); err != nil {
		t.Fatal(err)
	}
	rest, err := subs.Next(ctx, name, 3, 0)
	if err != nil || len(rest.Events) != 1 || rest.Events[0].Position != positions[3] {
		t.Fatalf("after the ack: %+v %v", rest, err)
	}
	if info, err := subs.Reset(ctx, name, flipbook.After(positions[0])); err != nil || info.Checkpoint != positions[0] {
		t.Fatalf("reset: %+v %v", info, err)
	}
	if info, err := subs.Pause(ctx, name); err != nil || !info.Paused || info.Status != "paused" {
		t.Fatalf("pause: %+v %v", info, err)
	}
	if paused, err := subs.Next(ctx, name, 3, 0); err != nil || len(paused.Events) != 0 {
		t.Fatalf("a paused subscription delivers nothing: %+v %v", paused, err)
	}
	if info, err := subs.Resume(ctx, name); err != nil || info.Paused || info.Status == "paused" {
		t.Fatalf("resume: %+v %v", info, err)
	}
	if resumed, err := subs.Next(ctx, name, 3, 0); err != nil || len(resumed.Events) == 0 || resumed.Events[0].Position != positions[1] {
		t.Fatalf("after resume: %+v %v", resumed, err)
	}
	if _, err := subs.Pause(ctx, name+"-missing"); !errors.Is(err, flipbook.ErrNotFound) {
		t.Fatalf("pausing a missing subscription: %v", err)
	}
	found := false
	for s, err := range subs.List(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		found = found || s.Name == name
	}
	if !found {
		t.Fatal("the subscription is not listed")
	}
	if err := subs.Delete(ctx, name); err != nil {
		t.Fatal(err)
	}
	if _, err := subs.Get(ctx, name); !errors.Is(err, flipbook.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	stream := client.Subscribe(ctx, name)
	for _, err := range stream.Messages() {
		if !errors.Is(err, flipbook.ErrNotFound) {
			t.Fatalf("streaming a deleted subscription: %v", err)
		}
		break
	}
}

func TestSubscribeStopsWithItsContext(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	client, err := flipbook.New(server.GRPCTarget, flipbook.WithAPIKey(server.Key))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()
	name := subscriptionName(t, "ctx")
	if _, err := client.Subscriptions().Create(ctx, name, flipbook.SubscriptionFilter{Category: name}, flipbook.CreateSubscriptionOptions{}); err != nil {
		t.Fatal(err)
	}
	var last error
	for msg, err := range client.Subscribe(ctx, name).Messages() {
		if msg.CaughtUp {
			cancel() // nothing live will come: the loop must end with the context's error
			continue
		}
		last = err
	}
	if !errors.Is(last, context.Canceled) {
		t.Fatalf("the stream ended with %v", last)
	}
}
