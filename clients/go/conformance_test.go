package flipbook_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	flipbook "github.com/flipbook/flipbook/clients/go"
)

// The conformance vectors shared by every Flipbook client (clients/conformance/README.md).

var uuidPlaceholder = regexp.MustCompile(`\{uuid:([A-Za-z0-9_-]+)\}`)

// placeholders replaces {run} with a run's prefix and {uuid:label} with one UUID per label.
type placeholders struct {
	run   string
	uuids map[string]string
}

func (p *placeholders) fill(value any) any {
	switch v := value.(type) {
	case string:
		return uuidPlaceholder.ReplaceAllStringFunc(strings.ReplaceAll(v, "{run}", p.run), func(m string) string {
			label := uuidPlaceholder.FindStringSubmatch(m)[1]
			if _, ok := p.uuids[label]; !ok {
				p.uuids[label] = flipbook.NewEventID()
			}
			return p.uuids[label]
		})
	case []any:
		out := make([]any, len(v))
		for i, item := range v {
			out[i] = p.fill(item)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, item := range v {
			out[k] = p.fill(item)
		}
		return out
	}
	return value
}

type step map[string]any

func (s step) str(key string) string { v, _ := s[key].(string); return v }

func (s step) int(key string) int64 {
	if n, ok := s[key].(json.Number); ok {
		v, err := n.Int64()
		if err == nil {
			return v
		}
	}
	return 0
}

func (s step) time(key string) time.Time {
	text := s.str(key)
	if text == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, text)
	if err != nil {
		panic(fmt.Sprintf("%s: %v", key, err))
	}
	return t
}

func (s step) strings(key string) []string {
	var out []string
	for _, v := range asList(s[key]) {
		out = append(out, v.(string))
	}
	return out
}

func asList(v any) []any { l, _ := v.([]any); return l }

func expectedVersion(v any) flipbook.ExpectedVersion {
	switch value := v.(type) {
	case nil:
		return flipbook.AnyVersion
	case json.Number:
		n, _ := value.Int64()
		return flipbook.ExactVersion(n)
	case string:
		switch value {
		case "no_stream":
			return flipbook.NoStream
		case "exists":
			return flipbook.StreamExists
		case "any":
			return flipbook.AnyVersion
		}
	}
	panic(fmt.Sprintf("not an expected version: %v", v))
}

func rawJSON(v any) json.RawMessage {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return data
}

func newEvents(list any) []flipbook.NewEvent {
	var events []flipbook.NewEvent
	for _, item := range asList(list) {
		e := step(item.(map[string]any))
		event := flipbook.NewEvent{Name: e.str("name"), ID: e.str("id"), Version: e.int("version"), Timestamp: e.time("timestamp")}
		if payload, ok := e["payload"]; ok {
			event.Payload = rawJSON(payload)
		}
		if metadata, ok := e["metadata"]; ok {
			event.Metadata = rawJSON(metadata)
		}
		events = append(events, event)
	}
	return events
}

// version is a version as the vectors write it: null on version-neutral streams.
func version(v int64) any {
	if v == 0 {
		return nil
	}
	return v
}

func decoded(raw json.RawMessage) any {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		panic(err)
	}
	return v
}

func categoryOf(c string) any {
	if c == "" {
		return nil
	}
	return c
}

// runStep runs one op and returns its results by the format's expect keys.
func runStep(t *testing.T, client *flipbook.Client, s step) (map[string]any, error) {
	ctx := testContext(t)
	switch s.str("op") {
	case "append":
		result, err := client.Append(ctx, s.str("stream"), expectedVersion(s["expected_version"]), newEvents(s["events"]),
			flipbook.WithCategory(s.str("category")), flipbook.WithKind(flipbook.StreamKind(s.str("kind"))))
		if err != nil {
			return nil, err
		}
		return map[string]any{
			"first_version": version(result.FirstVersion()), "last_version": version(result.Version),
			"duplicate": result.Duplicate, "count": len(result.Events),
		}, nil
	case "commit":
		var appends []flipbook.StreamAppend
		for _, item := range asList(s["appends"]) {
			a := step(item.(map[string]any))
			appends = append(appends, flipbook.StreamAppend{
				StreamID: a.str("stream"), Expected: expectedVersion(a["expected_version"]),
				Events: newEvents(a["events"]), Category: a.str("category"),
			})
		}
		result, err := client.Commit(ctx, appends...)
		if err != nil {
			return nil, err
		}
		count, streams := 0, []any{}
		for _, r := range result.Streams {
			count += len(r.Events)
			streams = append(streams, map[string]any{"stream": r.StreamID, "last_version": version(r.Version)})
		}
		return map[string]any{"duplicate": result.Duplicate, "count": count, "streams": streams}, nil
	case "read":
		opts := []flipbook.ReadOption{flipbook.FromVersion(s.int("from_version")), flipbook.ToVersion(s.int("to_version")),
			flipbook.Since(s.time("since")), flipbook.Until(s.time("until"))}
		if s.str("direction") == "backwards" {
			opts = append(opts, flipbook.Backwards())
		}
		if n := s.int("page_size"); n > 0 {
			opts = append(opts, flipbook.PageSize(int(n)))
		}
		versions, names, payloads, ids := []any{}, []any{}, []any{}, []any{}
		for event, err := range client.Read(ctx, s.str("stream"), opts...) {
			if err != nil {
				return nil, err
			}
			versions = append(versions, version(event.Version))
			names = append(names, event.Name)
			payloads = append(payloads, decoded(event.Payload))
			ids = append(ids, event.ID)
		}
		return map[string]any{"versions": versions, "names": names, "payloads": payloads, "ids": ids, "count": len(ids)}, nil
	case "latest":
		event, err := client.Latest(ctx, s.str("stream"))
		if err != nil {
			return nil, err
		}
		return map[string]any{"version": version(event.Version), "name": event.Name, "payload": decoded(event.Payload)}, nil
	case "stream_info":
		info, err := client.Stream(ctx, s.str("stream"))
		if err != nil {
			return nil, err
		}
		return map[string]any{"version": version(info.Version), "kind": string(info.Kind),
			"category": categoryOf(info.Category), "event_count": info.EventCount}, nil
	case "read_all":
		opts := []flipbook.FeedOption{flipbook.Categories(s.strings("categories")...), flipbook.Names(s.strings("names")...)}
		if n := s.int("page_size"); n > 0 {
			opts = append(opts, flipbook.FeedPageSize(int(n)))
		}
		streams, names, last := []any{}, []any{}, int64(0)
		for event, err := range client.ReadAll(ctx, 0, opts...) {
			if err != nil {
				return nil, err
			}
			if event.Position <= last {
				t.Fatalf("read_all: position %d after %d", event.Position, last)
			}
			last = event.Position
			streams = append(streams, event.StreamID)
			names = append(names, event.Name)
		}
		return map[string]any{"streams": streams, "names": names, "count": len(names)}, nil
	case "state":
		var opts []flipbook.StateOption
		if _, ok := s["version"]; ok {
			opts = append(opts, flipbook.AtVersion(s.int("version")))
		}
		if at := s.time("at"); !at.IsZero() {
			opts = append(opts, flipbook.AtTime(at))
		}
		state, err := client.State(ctx, s.str("stream"), opts...)
		if err != nil {
			return nil, err
		}
		return map[string]any{"version": version(state.Version), "state": decoded(state.State)}, nil
	case "snapshot_set":
		snapshot, err := client.SetSnapshot(ctx, flipbook.SnapshotInput{
			StreamID: s.str("stream"), Version: s.int("version"), Payload: rawJSON(s["payload"]), Label: s.str("label"),
		})
		if err != nil {
			return nil, err
		}
		return map[string]any{"version": snapshot.Version}, nil
	case "snapshot_get":
		var opts []flipbook.SnapshotOption
		if n := s.int("max_version"); n > 0 {
			opts = append(opts, flipbook.MaxVersion(n))
		}
		snapshot, err := client.Snapshot(ctx, s.str("stream"), opts...)
		if err != nil {
			return nil, err
		}
		return map[string]any{"version": snapshot.Version, "payload": decoded(snapshot.Payload)}, nil
	}
	t.Fatalf("unknown op %q", s.str("op"))
	return nil, nil
}

// sameJSON compares two values as JSON values (numbers by value).
func sameJSON(a, b any) bool {
	normal := func(v any) any {
		var out any
		decoder := json.NewDecoder(bytes.NewReader(rawJSON(v)))
		if err := decoder.Decode(&out); err != nil {
			panic(err)
		}
		return out
	}
	return reflect.DeepEqual(normal(a), normal(b))
}

func checkStep(t *testing.T, client *flipbook.Client, s step, where string) {
	t.Helper()
	results, err := runStep(t, client, s)
	if expectError, ok := s["expect_error"].(map[string]any); ok {
		var flipbookErr *flipbook.Error
		if !errors.As(err, &flipbookErr) {
			t.Fatalf("%s: want error %v, got %v (%v)", where, expectError, err, results)
		}
		if flipbookErr.Code != expectError["code"] {
			t.Fatalf("%s: want code %v, got %v", where, expectError["code"], err)
		}
		if want, ok := expectError["current_version"]; ok {
			var conflict *flipbook.VersionConflictError
			if !errors.As(err, &conflict) || !errors.Is(err, flipbook.ErrVersionConflict) {
				t.Fatalf("%s: want a VersionConflictError, got %T %v", where, err, err)
			}
			if !sameJSON(conflict.CurrentVersion, want) {
				t.Fatalf("%s: current version %d, want %v", where, conflict.CurrentVersion, want)
			}
		}
		if want, ok := expectError["field"]; ok && flipbookErr.Field != want {
			t.Fatalf("%s: field %q, want %v (%v)", where, flipbookErr.Field, want, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	expect, _ := s["expect"].(map[string]any)
	for key, want := range expect {
		got, ok := results[key]
		if !ok {
			t.Fatalf("%s: %s has no result %q", where, s.str("op"), key)
		}
		if !sameJSON(got, want) {
			t.Fatalf("%s: %s is %s, want %s", where, key, rawJSON(got), rawJSON(want))
		}
	}
}

func TestConformanceVectors(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "conformance", "vectors", "*.json"))
	if err != nil || len(files) < 10 {
		t.Fatalf("conformance vectors missing: %v %v", files, err)
	}
	client := newClient(t, server.GRPCTarget)
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".json"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var vector struct {
				Name  string           `json:"name"`
				Steps []map[string]any `json:"steps"`
			}
			decoder := json.NewDecoder(bytes.NewReader(data))
			decoder.UseNumber()
			if err := decoder.Decode(&vector); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			if len(vector.Steps) == 0 {
				t.Fatalf("%s has no steps", file)
			}
			p := &placeholders{run: "g" + strings.ReplaceAll(flipbook.NewEventID(), "-", "")[:12], uuids: map[string]string{}}
			for i, raw := range vector.Steps {
				s := step(p.fill(raw).(map[string]any))
				checkStep(t, client, s, fmt.Sprintf("%s step %d (%s)", filepath.Base(file), i, s.str("op")))
			}
		})
	}
}
