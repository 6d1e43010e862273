package flipbook_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	flipbook "github.com/flipbook/flipbook/clients/go"
)

func events(names ...string) []flipbook.NewEvent {
	out := make([]flipbook.NewEvent, len(names))
	for i, name := range names {
		out[i] = flipbook.NewEvent{Name: name, Payload: map[string]any{"i": i}}
	}
	return out
}

func TestAppendConflictCarriesCurrentVersion(t *testing.T) {
	client := newClient(t, server.GRPCTarget)
	ctx := testContext(t)
	stream := runID(t) + "/account"
	if _, err := client.Append(ctx, stream, flipbook.NoStream, events("Opened", "Deposited")); err != nil {
		t.Fatal(err)
	}
	_, err := client.Append(ctx, stream, flipbook.ExactVersion(1), events("Deposited"))
	if !errors.Is(err, flipbook.ErrVersionConflict) {
		t.Fatalf("want ErrVersionConflict, got %v", err)
	}
	var conflict *flipbook.VersionConflictError
	if !errors.As(err, &conflict) {
		t.Fatalf("want a *VersionConflictError, got %T", err)
	}
	if conflict.CurrentVersion != 2 || conflict.StreamID != stream {
		t.Fatalf("conflict names version %d of %q, want 2 of %q", conflict.CurrentVersion, conflict.StreamID, stream)
	}
	if errors.Is(err, flipbook.ErrNotFound) || errors.Is(err, flipbook.ErrIDConflict) {
		t.Fatal("a version conflict matches another sentinel")
	}
	var base *flipbook.Error
	if !errors.As(err, &base) || base.Code != "version_conflict" || !strings.Contains(err.Error(), "version 2") {
		t.Fatalf("the underlying error is %#v (%v)", base, err)
	}
}

func TestAppendResultSaysWhereTheEventsWent(t *testing.T) {
	client := newClient(t, server.GRPCTarget)
	ctx := testContext(t)
	stream := runID(t) + "/slim"
	id := flipbook.NewEventID()
	sent := []flipbook.NewEvent{{ID: id, Name: "Opened", Payload: map[string]any{"owner": "ada"}}, {Name: "Deposited"}}
	result, err := client.Append(ctx, stream, flipbook.NoStream, sent)
	if err != nil || result.StreamID != stream || result.Version != 2 || len(result.Events) != 2 {
		t.Fatalf("append: %+v %v", result, err)
	}
	first, second := result.Events[0], result.Events[1]
	if first.ID != id || first.Version != 1 || second.Version != 2 || second.ID == "" || second.ID == id {
		t.Fatalf("ids and versions: %+v", result.Events)
	}
	if first.Position <= 0 || second.Position <= first.Position || first.RecordedAt.IsZero() {
		t.Fatalf("positions and store times: %+v", result.Events)
	}
	var read []flipbook.Event
	for event, err := range client.Read(ctx, stream) {
		if err != nil {
			t.Fatal(err)
		}
		read = append(read, event)
	}
	for i, event := range read {
		want := result.Events[i]
		if event.ID != want.ID || event.Version != want.Version || event.Position != want.Position || !event.RecordedAt.Equal(want.RecordedAt) {
			t.Fatalf("read %+v, appended %+v", event, want)
		}
	}
	if string(read[0].Payload) != `{"owner":"ada"}` {
		t.Fatalf("the payload is read back, not echoed: %s", read[0].Payload)
	}
	commit, err := client.Commit(ctx, flipbook.StreamAppend{StreamID: stream + "-b", Expected: flipbook.NoStream, Events: events("A")})
	if err != nil || len(commit.Streams) != 1 || commit.Streams[0].Events[0].Position != commit.LastPosition || commit.Streams[0].Events[0].Version != 1 {
		t.Fatalf("commit: %+v %v", commit, err)
	}
}

func TestIdempotentResendAndIDConflict(t *testing.T) {
	client := newClient(t, server.GRPCTarget)
	ctx := testContext(t)
	stream := runID(t) + "/payments"
	id := flipbook.NewEventID()
	paid := []flipbook.NewEvent{{ID: id, Name: "Paid", Payload: map[string]any{"cents": 995}}}
	first, err := client.Append(ctx, stream, flipbook.NoStream, paid)
	if err != nil || first.Duplicate {
		t.Fatalf("first append: %+v %v", first, err)
	}
	again, err := client.Append(ctx, stream, flipbook.NoStream, paid)
	if err != nil || !again.Duplicate || again.Events[0].Position != first.Events[0].Position {
		t.Fatalf("a re-send is the stored result flagged duplicate: %+v %v", again, err)
	}
	changed := []flipbook.NewEvent{{ID: id, Name: "Paid", Payload: map[string]any{"cents": 1}}}
	_, err = client.Append(ctx, stream, flipbook.AnyVersion, changed)
	var idConflict *flipbook.IDConflictError
	if !errors.Is(err, flipbook.ErrIDConflict) || !errors.As(err, &idConflict) || len(idConflict.EventIDs) != 1 || idConflict.EventIDs[0] != id {
		t.Fatalf("want an IDConflictError naming %s, got %v", id, err)
	}
}

func TestCommitIsAtomic(t *testing.T) {
	client := newClient(t, server.GRPCTarget)
	ctx := testContext(t)
	run := runID(t)
	result, err := client.Commit(ctx,
		flipbook.StreamAppend{StreamID: run + "/a", Expected: flipbook.NoStream, Events: events("Sent")},
		flipbook.StreamAppend{StreamID: run + "/b", Expected: flipbook.NoStream, Events: events("Received")},
	)
	if err != nil || len(result.Streams) != 2 || result.Streams[1].Version != 1 || result.LastPosition == 0 {
		t.Fatalf("commit: %+v %v", result, err)
	}
	_, err = client.Commit(ctx,
		flipbook.StreamAppend{StreamID: run + "/c", Expected: flipbook.NoStream, Events: events("Sent")},
		flipbook.StreamAppend{StreamID: run + "/b", Expected: flipbook.NoStream, Events: events("Received")},
	)
	if !errors.Is(err, flipbook.ErrVersionConflict) {
		t.Fatalf("want a conflict, got %v", err)
	}
	if _, err := client.Stream(ctx, run+"/c"); !errors.Is(err, flipbook.ErrNotFound) {
		t.Fatalf("a refused commit stored %s: %v", run+"/c", err)
	}
	if _, err := client.Commit(ctx); err == nil {
		t.Fatal("an empty commit was accepted")
	}
}

func TestReadIteratorPagesAndStopsEarly(t *testing.T) {
	client := newClient(t, server.GRPCTarget)
	ctx := testContext(t)
	stream := runID(t) + "/long"
	base := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	var batch []flipbook.NewEvent
	for i := range 23 {
		batch = append(batch, flipbook.NewEvent{Name: "Tick", Payload: i + 1, Timestamp: base.Add(time.Duration(i) * time.Hour)})
	}
	if _, err := client.Append(ctx, stream, flipbook.NoStream, batch); err != nil {
		t.Fatal(err)
	}
	var versions []int64
	for event, err := range client.Read(ctx, stream, flipbook.PageSize(4)) {
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		if err := event.DecodePayload(&n); err != nil || n != event.Version {
			t.Fatalf("payload %s of version %d: %v", event.Payload, event.Version, err)
		}
		versions = append(versions, event.Version)
	}
	if len(versions) != 23 || versions[22] != 23 {
		t.Fatalf("read %v", versions)
	}
	count := 0
	for event, err := range client.Read(ctx, stream, flipbook.Backwards(), flipbook.PageSize(3)) {
		if err != nil {
			t.Fatal(err)
		}
		if event.Version != int64(23-count) {
			t.Fatalf("backwards: version %d at %d", event.Version, count)
		}
		count++
		if count == 5 {
			break // ends the iteration: no page is left half-read
		}
	}
	var hours []int64
	for event, err := range client.Read(ctx, stream, flipbook.Since(base.Add(10*time.Hour)), flipbook.Until(base.Add(12*time.Hour)), flipbook.PageSize(1)) {
		if err != nil {
			t.Fatal(err)
		}
		hours = append(hours, event.Version)
	}
	if fmt.Sprint(hours) != "[11 12 13]" {
		t.Fatalf("time range read %v", hours)
	}
	page, err := client.ReadPage(ctx, stream, "", flipbook.FromVersion(20), flipbook.PageSize(2))
	if err != nil || len(page.Events) != 2 || page.NextCursor == "" {
		t.Fatalf("page %+v %v", page, err)
	}
	next, err := client.ReadPage(ctx, stream, page.NextCursor, flipbook.FromVersion(20), flipbook.PageSize(2))
	if err != nil || len(next.Events) != 2 || next.Events[0].Version != 22 {
		t.Fatalf("next page %+v %v", next, err)
	}
}

func TestReadAllFiltersAndListStreams(t *testing.T) {
	client := newClient(t, server.GRPCTarget)
	ctx := testContext(t)
	run := runID(t)
	category := strings.ReplaceAll(run, "-", "") + "cat"
	for i := range 3 {
		if _, err := client.Append(ctx, fmt.Sprintf("%s/s%d", run, i), flipbook.NoStream, events("A", "B"), flipbook.WithCategory(category)); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	last := int64(0)
	for event, err := range client.ReadAll(ctx, 0, flipbook.Categories(category), flipbook.Names("B"), flipbook.FeedPageSize(2)) {
		if err != nil {
			t.Fatal(err)
		}
		if event.Position <= last {
			t.Fatalf("position %d after %d", event.Position, last)
		}
		last = event.Position
		names = append(names, event.StreamID+":"+event.Name)
	}
	want := fmt.Sprintf("[%[1]s/s0:B %[1]s/s1:B %[1]s/s2:B]", run)
	if fmt.Sprint(names) != want {
		t.Fatalf("read_all %v, want %s", names, want)
	}
	var ids []string
	for info, err := range client.ListStreams(ctx, run+"/", category) {
		if err != nil {
			t.Fatal(err)
		}
		if info.Version != 2 || info.Kind != flipbook.KindVersioned || info.EventCount != 2 {
			t.Fatalf("stream info %+v", info)
		}
		ids = append(ids, info.StreamID)
	}
	if len(ids) != 3 {
		t.Fatalf("listed %v", ids)
	}
}

func TestStateAndSnapshots(t *testing.T) {
	client := newClient(t, server.GRPCTarget)
	ctx := testContext(t)
	stream := runID(t) + "/profile"
	first := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	_, err := client.Append(ctx, stream, flipbook.NoStream, []flipbook.NewEvent{
		{Name: "Created", Payload: map[string]any{"name": "Ada"}, Timestamp: first},
		{Name: "Moved", Payload: map[string]any{"city": "London"}, Timestamp: first.Add(48 * time.Hour)},
	})
	if err != nil {
		t.Fatal(err)
	}
	var state map[string]string
	latest, err := client.State(ctx, stream)
	if err != nil || latest.Version != 2 || latest.Decode(&state) != nil || state["city"] != "London" {
		t.Fatalf("latest state %+v %v", latest, err)
	}
	atOne, err := client.State(ctx, stream, flipbook.AtVersion(1))
	if err != nil || atOne.Version != 1 || strings.Contains(string(atOne.State), "London") {
		t.Fatalf("state at 1: %+v %v", atOne, err)
	}
	atTime, err := client.State(ctx, stream, flipbook.AtTime(first.Add(time.Hour)))
	if err != nil || strings.Contains(string(atTime.State), "London") {
		t.Fatalf("state at time: %+v %v", atTime, err)
	}
	if _, err := client.State(ctx, stream, flipbook.KnownAt(first)); err == nil {
		t.Fatal("KnownAt without AtTime was accepted")
	}
	if _, err := client.Snapshot(ctx, stream); !errors.Is(err, flipbook.ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
	stored, err := client.SetSnapshot(ctx, flipbook.SnapshotInput{StreamID: stream, Version: 1, Payload: map[string]any{"v": 1}, Revision: "mine", Label: "one", TTL: time.Hour})
	if err != nil || stored.Version != 1 || stored.Revision != "mine" || stored.ExpiresAt.IsZero() {
		t.Fatalf("set snapshot %+v %v", stored, err)
	}
	got, err := client.Snapshot(ctx, stream, flipbook.Revision("mine"), flipbook.MaxVersion(2))
	if err != nil || got.Version != 1 || string(got.Payload) != `{"v":1}` || got.Label != "one" {
		t.Fatalf("get snapshot %+v %v", got, err)
	}
	_, err = client.SetSnapshot(ctx, flipbook.SnapshotInput{StreamID: stream, Version: 9, Payload: 1})
	if !errors.Is(err, flipbook.ErrValidation) {
		t.Fatalf("a snapshot beyond the head: %v", err)
	}
}

func TestAuthenticationAndPermissions(t *testing.T) {
	ctx := testContext(t)
	stream := runID(t) + "/guarded"
	anonymous, err := flipbook.New(server.GRPCTarget)
	if err != nil {
		t.Fatal(err)
	}
	defer anonymous.Close()
	if _, err := anonymous.Stream(ctx, stream); !errors.Is(err, flipbook.ErrUnauthenticated) {
		t.Fatalf("no key: %v", err)
	}
	wrong := newClient(t, server.GRPCTarget, flipbook.WithAPIKey("fbk_nope_nope"))
	if _, err := wrong.Stream(ctx, stream); !errors.Is(err, flipbook.ErrUnauthenticated) {
		t.Fatalf("a wrong key: %v", err)
	}
	readKey, err := server.CreateKey("go-read-"+runID(t), "read", "")
	if err != nil {
		t.Fatal(err)
	}
	reader := newClient(t, server.GRPCTarget, flipbook.WithAPIKey(readKey))
	if _, err := reader.Append(ctx, stream, flipbook.AnyVersion, events("A")); !errors.Is(err, flipbook.ErrPermissionDenied) {
		t.Fatalf("a read key appended: %v", err)
	}
	if _, err := flipbook.New(server.GRPCTarget, flipbook.WithAPIKey("two words")); err == nil {
		t.Fatal("a key with a space was accepted")
	}
	if _, err := flipbook.New("http://127.0.0.1:1"); err == nil {
		t.Fatal("an http:// target was accepted")
	}
}

func TestDeadlineComesFromTheContext(t *testing.T) {
	client := newClient(t, server.GRPCTarget)
	ctx := testContext(t)
	name := strings.ReplaceAll(runID(t), "-", "") + "-deadline"
	if _, err := client.Subscriptions().Create(ctx, name, flipbook.SubscriptionFilter{Category: name}, flipbook.CreateSubscriptionOptions{Start: flipbook.FromEnd}); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	started := time.Now()
	// The server would wait 10 s for an event that never comes; the context allows 300 ms.
	_, err := client.Subscriptions().Next(short, name, 10, 10*time.Second)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want context.DeadlineExceeded, got %v", err)
	}
	if elapsed := time.Since(started); elapsed > 3*time.Second {
		t.Fatalf("the call ran %s past a 300 ms deadline", elapsed)
	}
}

func TestBadInputIsRefusedBeforeSending(t *testing.T) {
	client := newClient(t, server.GRPCTarget)
	ctx := testContext(t)
	_, err := client.Append(ctx, "x", flipbook.AnyVersion, []flipbook.NewEvent{{Name: "A", Payload: json.RawMessage("{not json")}})
	if err == nil || !strings.Contains(err.Error(), "Payload") {
		t.Fatalf("bad JSON: %v", err)
	}
	_, err = client.Append(ctx, "x", flipbook.AnyVersion, []flipbook.NewEvent{{Name: "A", Payload: func() {}}})
	if err == nil {
		t.Fatal("a func payload was accepted")
	}
	_, err = client.Append(ctx, "x", flipbook.AnyVersion, events("A"), flipbook.WithKind("sideways"))
	if err == nil || !strings.Contains(err.Error(), "sideways") {
		t.Fatalf("bad kind: %v", err)
	}
}
