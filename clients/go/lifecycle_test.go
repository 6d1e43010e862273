package flipbook_test

import (
	"errors"
	"testing"

	flipbook "github.com/flipbook/flipbook/clients/go"
)

func TestDeleteSoftHardAndTruncate(t *testing.T) {
	client := newClient(t, server.GRPCTarget)
	ctx := testContext(t)
	soft := runID(t) + "/soft"
	if _, err := client.Append(ctx, soft, flipbook.NoStream, events("A", "B")); err != nil {
		t.Fatal(err)
	}
	head, err := client.DeleteStream(ctx, soft, false)
	if err != nil || head.Version != 2 {
		t.Fatalf("soft delete: %+v, %v", head, err)
	}
	if _, err := client.Stream(ctx, soft); !errors.Is(err, flipbook.ErrNotFound) {
		t.Fatalf("a soft-deleted stream reads as %v, want ErrNotFound", err)
	}
	result, err := client.Append(ctx, soft, flipbook.ExactVersion(2), events("C"))
	if err != nil || result.Version != 3 {
		t.Fatalf("an append after a soft delete: %+v, %v", result, err)
	}

	hard := runID(t) + "/hard"
	if _, err := client.Append(ctx, hard, flipbook.NoStream, events("A")); err != nil {
		t.Fatal(err)
	}
	if _, err := client.DeleteStream(ctx, hard, true); err != nil {
		t.Fatal(err)
	}
	_, err = client.Append(ctx, hard, flipbook.AnyVersion, events("B"))
	if !errors.Is(err, flipbook.ErrStreamDeleted) || errors.Is(err, flipbook.ErrVersionConflict) {
		t.Fatalf("an append to a tombstone: %v, want only ErrStreamDeleted", err)
	}
	if _, err := client.DeleteStream(ctx, runID(t)+"/missing", false); !errors.Is(err, flipbook.ErrNotFound) {
		t.Fatalf("deleting a missing stream: %v, want ErrNotFound", err)
	}

	cut := runID(t) + "/cut"
	if _, err := client.Append(ctx, cut, flipbook.NoStream, events("A", "B", "C", "D")); err != nil {
		t.Fatal(err)
	}
	head, err = client.TruncateStream(ctx, cut, 3)
	if err != nil || head.EventCount != 2 || head.Version != 4 {
		t.Fatalf("truncate: %+v, %v", head, err)
	}
	var versions []int64
	for event, err := range client.Read(ctx, cut) {
		if err != nil {
			t.Fatal(err)
		}
		versions = append(versions, event.Version)
	}
	if len(versions) != 2 || versions[0] != 3 || versions[1] != 4 {
		t.Fatalf("read after truncate: %v, want [3 4]", versions)
	}
}
