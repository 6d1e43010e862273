// Command subscriber follows a durable subscription: it creates it if needed (every event
// of one category), catches up, then prints live events as they are committed,
// acknowledging each. Stop it with Ctrl-C and start it again: it goes on from its
// checkpoint. It reconnects by itself when the server restarts.
//
//	FLIPBOOK_API_KEY=<key> go run ./examples/subscriber [category]
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	flipbook "github.com/flipbook/flipbook/clients/go"
)

// follow prints the events of category as they come, until ctx ends or stopAfter events
// were printed (0: no limit).
func follow(ctx context.Context, target, key, category string, stopAfter int, out io.Writer) error {
	client, err := flipbook.New(target, flipbook.WithAPIKey(key))
	if err != nil {
		return err
	}
	defer client.Close()
	name := "example-subscriber-" + category
	_, err = client.Subscriptions().Create(ctx, name,
		flipbook.SubscriptionFilter{Category: category}, flipbook.CreateSubscriptionOptions{Start: flipbook.FromBeginning})
	if err != nil && !errors.Is(err, flipbook.ErrAlreadyExists) {
		return err
	}
	stream := client.Subscribe(ctx, name, flipbook.OnReconnect(func(err error, wait time.Duration) {
		fmt.Fprintf(out, "disconnected (%v); reconnecting in %s\n", err, wait.Round(time.Millisecond))
	}))
	printed := 0
	for msg, err := range stream.Messages() {
		if errors.Is(err, context.Canceled) {
			return nil // Ctrl-C
		}
		if err != nil {
			return err
		}
		if msg.CaughtUp {
			fmt.Fprintf(out, "caught up at position %d; waiting for new events\n", msg.Position)
			continue
		}
		e := msg.Event
		fmt.Fprintf(out, "#%d %s v%d %s %s\n", e.Position, e.StreamID, e.Version, e.Name, e.Payload)
		if err := stream.Ack(ctx, msg.Position); err != nil {
			return err
		}
		printed++
		if stopAfter > 0 && printed == stopAfter {
			return nil
		}
	}
	return nil
}

func main() {
	target := os.Getenv("FLIPBOOK_GRPC_TARGET")
	if target == "" {
		target = "127.0.0.1:50051"
	}
	key := os.Getenv("FLIPBOOK_API_KEY")
	if key == "" {
		fmt.Fprintln(os.Stderr, "set FLIPBOOK_API_KEY to an API key (`make run` prints one)")
		os.Exit(2)
	}
	category := "bank-account"
	if len(os.Args) > 1 {
		category = os.Args[1]
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := follow(ctx, target, key, category, 0, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
