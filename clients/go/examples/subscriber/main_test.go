package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	flipbook "github.com/flipbook/flipbook/clients/go"
	"github.com/flipbook/flipbook/clients/go/internal/testserver"
)

func TestSubscriberExample(t *testing.T) {
	server, err := testserver.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	client, err := flipbook.New(server.GRPCTarget, flipbook.WithAPIKey(server.Key))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	category := fmt.Sprintf("example%d", time.Now().UnixNano())
	appendOne := func(name string) {
		_, err := client.Append(ctx, category+"-1", flipbook.AnyVersion,
			[]flipbook.NewEvent{{Name: name, Payload: map[string]int{"n": 1}}}, flipbook.WithCategory(category))
		if err != nil {
			t.Error(err)
		}
	}
	appendOne("Before")
	var out syncBuilder
	done := make(chan error, 1)
	go func() { done <- follow(ctx, server.GRPCTarget, server.Key, category, 3, &out) }()
	// Live events: committed once the subscriber has caught up.
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "caught up") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	appendOne("Live1")
	appendOne("Live2")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{"v1 Before {\"n\":1}", "caught up at position", "v2 Live1", "v3 Live2"} {
		if !strings.Contains(text, want) {
			t.Fatalf("the output lacks %q:\n%s", want, text)
		}
	}
	if strings.Index(text, "Before") > strings.Index(text, "caught up") {
		t.Fatalf("the catch-up came after the caught-up marker:\n%s", text)
	}
}
