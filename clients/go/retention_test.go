package flipbook_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	flipbook "github.com/flipbook/flipbook/clients/go"
)

func TestStreamRetentionScavengeAndClear(t *testing.T) {
	client := newClient(t, server.GRPCTarget)
	ctx := testContext(t)
	id := runID(t) + "/kept"
	if _, err := client.Append(ctx, id, flipbook.NoStream, events("A", "B", "C", "D")); err != nil {
		t.Fatal(err)
	}
	none, err := client.StreamRetention(ctx, id)
	if err != nil || none.Source != "none" || none.MaxCount != nil {
		t.Fatalf("before any policy: %+v, %v", none, err)
	}
	one := int64(1)
	policy, err := client.SetStreamRetention(ctx, id, flipbook.RetentionPolicy{MaxCount: &one})
	if err != nil || policy.Source != "stream" || policy.MaxCount == nil || *policy.MaxCount != 1 ||
		policy.MaxAge != nil || policy.UpdatedAt.IsZero() {
		t.Fatalf("set: %+v, %v", policy, err)
	}
	var removed int64
	for {
		report, err := client.Scavenge(ctx, 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		removed += report.RemovedEvents
		if report.Complete {
			break
		}
		if report.RemovedEvents != 1 {
			t.Fatalf("a scavenge limited to 1 removed %d", report.RemovedEvents)
		}
	}
	if removed < 3 {
		t.Fatalf("the scavenges removed %d events, want at least 3", removed)
	}
	var names []string
	for event, err := range client.Read(ctx, id) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, event.Name)
	}
	if len(names) != 1 || names[0] != "D" {
		t.Fatalf("read after the scavenge: %v, want [D]", names)
	}
	cleared, err := client.ClearStreamRetention(ctx, id)
	if err != nil || cleared.Source != "none" {
		t.Fatalf("clear: %+v, %v", cleared, err)
	}
	if _, err := client.ClearStreamRetention(ctx, id); !errors.Is(err, flipbook.ErrNotFound) {
		t.Fatalf("a second clear: %v, want ErrNotFound", err)
	}
	zero := int64(0)
	for _, bad := range []flipbook.RetentionPolicy{{}, {MaxCount: &zero}, {MaxAge: &zero}} {
		if _, err := client.SetStreamRetention(ctx, id, bad); !errors.Is(err, flipbook.ErrValidation) {
			t.Fatalf("policy %+v: %v, want ErrValidation", bad, err)
		}
	}
	if _, err := client.Scavenge(ctx, 0, 1_000_000); !errors.Is(err, flipbook.ErrValidation) {
		t.Fatalf("a scavenge beyond the server's limit: %v, want ErrValidation", err)
	}
}

func TestEraseASubject(t *testing.T) {
	client := newClient(t, server.GRPCTarget)
	ctx := testContext(t)
	id := runID(t) + "/person"
	subject := strings.ReplaceAll(runID(t), "/", "-") + "-subject"
	event := flipbook.NewEvent{
		Name:     "Joined",
		Payload:  map[string]any{"email": "go@example.com", "n": 1},
		Metadata: map[string]any{"personal_data": map[string]any{"subject": subject, "fields": []string{"$.email"}}},
	}
	if _, err := client.Append(ctx, id, flipbook.NoStream, []flipbook.NewEvent{event}); err != nil {
		t.Fatal(err)
	}
	erasure, err := client.Erase(ctx, subject)
	if err != nil || erasure.Subject != subject || erasure.KeysDestroyed != 1 || erasure.Streams != 1 ||
		!strings.HasPrefix(erasure.ErasedBy, "key:") || erasure.AuditID == 0 || erasure.ErasedAt.IsZero() {
		t.Fatalf("erase: %+v, %v", erasure, err)
	}
	for read, err := range client.Read(ctx, id) {
		if err != nil {
			t.Fatal(err)
		}
		var payload map[string]any
		if err := json.Unmarshal(read.Payload, &payload); err != nil {
			t.Fatal(err)
		}
		if erased, _ := payload["email"].(map[string]any); erased["erased"] != true || payload["n"] != 1.0 {
			t.Fatalf("payload after the erasure: %v", payload)
		}
	}
	if _, err := client.Erase(ctx, subject); !errors.Is(err, flipbook.ErrNotFound) {
		t.Fatalf("a second erasure: %v, want ErrNotFound", err)
	}
}
