package flipbook

import (
	"encoding/json"
	"fmt"
	"time"

	pb "github.com/flipbook/flipbook/clients/go/internal/flipbookpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// jsonBytes encodes v as JSON text; json.RawMessage and []byte pass as they are (they must
// hold JSON text already) and nil stays empty (the server reads empty as null or {}).
func jsonBytes(v any, field string) ([]byte, error) {
	switch value := v.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		if !json.Valid(value) {
			return nil, fmt.Errorf("flipbook: %s is not valid JSON text", field)
		}
		return value, nil
	case []byte:
		if !json.Valid(value) {
			return nil, fmt.Errorf("flipbook: %s is []byte but not JSON text; pass a value to encode, or JSON text", field)
		}
		return value, nil
	}
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("flipbook: %s cannot be encoded as JSON: %w", field, err)
	}
	return data, nil
}

func timestampOf(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func timeOf(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime()
}

func newEventMessages(events []NewEvent, field string) ([]*pb.NewEvent, error) {
	messages := make([]*pb.NewEvent, len(events))
	for i, event := range events {
		at := fmt.Sprintf("%s[%d]", field, i)
		payload, err := jsonBytes(event.Payload, at+".Payload")
		if err != nil {
			return nil, err
		}
		metadata, err := jsonBytes(event.Metadata, at+".Metadata")
		if err != nil {
			return nil, err
		}
		message := &pb.NewEvent{
			Name:      event.Name,
			Payload:   payload,
			Metadata:  metadata,
			Timestamp: timestampOf(event.Timestamp),
			Id:        event.ID,
		}
		if event.Version != 0 {
			version := event.Version
			message.Version = &version
		}
		messages[i] = message
	}
	return messages, nil
}

var kindMessages = map[StreamKind]pb.StreamKind{
	KindUnspecified: pb.StreamKind_STREAM_KIND_UNSPECIFIED,
	KindVersioned:   pb.StreamKind_STREAM_KIND_VERSIONED,
	KindNeutral:     pb.StreamKind_STREAM_KIND_NEUTRAL,
}

func appendRequest(a StreamAppend, field string) (*pb.AppendRequest, error) {
	events, err := newEventMessages(a.Events, field+"Events")
	if err != nil {
		return nil, err
	}
	kind, ok := kindMessages[a.Kind]
	if !ok {
		return nil, fmt.Errorf("flipbook: %sKind %q is not a stream kind (versioned or neutral)", field, a.Kind)
	}
	request := &pb.AppendRequest{StreamId: a.StreamID, Events: events, Category: a.Category, Kind: kind}
	switch a.Expected.kind {
	case expectExact:
		request.Expected = &pb.AppendRequest_ExpectedVersion{ExpectedVersion: a.Expected.version}
	case expectExists:
		request.Expected = &pb.AppendRequest_ExpectedState{ExpectedState: pb.ExpectedState_EXPECTED_STATE_EXISTS}
	default:
		request.Expected = &pb.AppendRequest_ExpectedState{ExpectedState: pb.ExpectedState_EXPECTED_STATE_ANY}
	}
	return request, nil
}

// allEventsHaveIDs reports whether re-sending these events is harmless (each has an id).
func allEventsHaveIDs(events []NewEvent) bool {
	for _, event := range events {
		if event.ID == "" {
			return false
		}
	}
	return len(events) > 0
}

func eventOf(m *pb.Event) Event {
	return Event{
		StreamID:   m.GetStreamId(),
		Version:    m.GetVersion(),
		Timestamp:  timeOf(m.GetTimestamp()),
		Name:       m.GetName(),
		Payload:    json.RawMessage(m.GetPayload()),
		Metadata:   json.RawMessage(m.GetMetadata()),
		ID:         m.GetId(),
		Position:   m.GetPosition(),
		RecordedAt: timeOf(m.GetRecordedAt()),
	}
}

func appendResultOf(m *pb.AppendResponse) AppendResult {
	events := make([]AppendedEvent, len(m.GetEvents()))
	for i, e := range m.GetEvents() {
		events[i] = AppendedEvent{
			ID:         e.GetId(),
			Version:    e.GetVersion(),
			Position:   e.GetPosition(),
			RecordedAt: timeOf(e.GetRecordedAt()),
		}
	}
	return AppendResult{StreamID: m.GetStreamId(), Version: m.GetVersion(), Events: events, Duplicate: m.GetDuplicate()}
}

var kindNames = map[pb.StreamKind]StreamKind{
	pb.StreamKind_STREAM_KIND_VERSIONED: KindVersioned,
	pb.StreamKind_STREAM_KIND_NEUTRAL:   KindNeutral,
}

func streamInfoOf(m *pb.StreamInfo) StreamInfo {
	return StreamInfo{
		StreamID:        m.GetStreamId(),
		Kind:            kindNames[m.GetKind()],
		Category:        m.GetCategory(),
		Version:         m.GetVersion(),
		EventCount:      m.GetEventCount(),
		FirstRecordedAt: timeOf(m.GetFirstRecordedAt()),
		LastRecordedAt:  timeOf(m.GetLastRecordedAt()),
		LastPosition:    m.GetLastPosition(),
		Metadata:        json.RawMessage(m.GetMetadata()),
	}
}

func snapshotOf(m *pb.Snapshot) Snapshot {
	return Snapshot{
		StreamID:  m.GetStreamId(),
		Version:   m.GetVersion(),
		Payload:   json.RawMessage(m.GetPayload()),
		Revision:  m.GetRevision(),
		Timestamp: timeOf(m.GetTimestamp()),
		Label:     m.GetLabel(),
		CreatedAt: timeOf(m.GetCreatedAt()),
		ExpiresAt: timeOf(m.GetExpiresAt()),
	}
}

func stateOf(m *pb.State) State {
	return State{
		StreamID:        m.GetStreamId(),
		Version:         m.GetVersion(),
		State:           json.RawMessage(m.GetState()),
		Category:        m.GetCategory(),
		Reducer:         m.GetReducer(),
		Revision:        m.GetRevision(),
		SnapshotVersion: m.GetSnapshot().GetVersion(),
		EventsRead:      m.GetEventsRead(),
		EventsApplied:   m.GetEventsApplied(),
		Timestamp:       timeOf(m.GetTimestamp()),
		RecordedAt:      timeOf(m.GetRecordedAt()),
	}
}
