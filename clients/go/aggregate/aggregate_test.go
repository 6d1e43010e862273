package aggregate_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	flipbook "github.com/flipbook/flipbook/clients/go"
	"github.com/flipbook/flipbook/clients/go/aggregate"
	"github.com/flipbook/flipbook/clients/go/internal/testserver"
	"go.uber.org/goleak"
)

var server *testserver.Server

func TestMain(m *testing.M) {
	var err error
	if server, err = testserver.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	server.Close()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goroutines left behind: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

type account struct {
	Owner   string `json:"owner"`
	Balance int64  `json:"balance"`
	Events  int    `json:"events"`
}

func applyAccount(state account, event flipbook.Event) (account, error) {
	var payload struct {
		Owner  string `json:"owner"`
		Amount int64  `json:"amount"`
	}
	if err := event.DecodePayload(&payload); err != nil {
		return state, err
	}
	switch event.Name {
	case "Opened":
		state.Owner = payload.Owner
	case "Deposited":
		state.Balance += payload.Amount
	default:
		return state, fmt.Errorf("unknown event %s", event.Name)
	}
	state.Events++
	return state, nil
}

func setUp(t *testing.T, opts ...aggregate.Option) (*flipbook.Client, *aggregate.Repository[account], context.Context) {
	client, err := flipbook.New(server.GRPCTarget, flipbook.WithAPIKey(server.Key))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	repo, err := aggregate.New(client, applyAccount, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return client, repo, ctx
}

func newID(what string) string {
	return fmt.Sprintf("acct-%d-%s/%s", time.Now().UnixNano(), flipbook.NewEventID()[:8], what)
}

func TestLoadRecordSave(t *testing.T) {
	client, repo, ctx := setUp(t, aggregate.WithCategory("account"))
	id := newID("ada")
	root, err := repo.Load(ctx, id)
	if err != nil || root.Version != 0 || root.State != (account{}) {
		t.Fatalf("a new aggregate: %+v %v", root, err)
	}
	if err := root.Record("Opened", map[string]any{"owner": "ada"}); err != nil {
		t.Fatal(err)
	}
	if err := root.Record("Deposited", map[string]any{"amount": 30}); err != nil {
		t.Fatal(err)
	}
	if root.State.Balance != 30 || len(root.Pending()) != 2 {
		t.Fatalf("recorded state %+v", root.State)
	}
	if err := root.Record("Stolen", map[string]any{}); err == nil || len(root.Pending()) != 2 {
		t.Fatal("an event apply refuses was recorded")
	}
	result, err := repo.Save(ctx, root)
	if err != nil || result.Version != 2 || root.Version != 2 || len(root.Pending()) != 0 {
		t.Fatalf("save: %+v %v", result, err)
	}
	if again, err := repo.Save(ctx, root); again != nil || err != nil {
		t.Fatalf("saving nothing: %+v %v", again, err)
	}
	loaded, err := repo.Load(ctx, id)
	if err != nil || loaded.State != root.State || loaded.Version != 2 {
		t.Fatalf("loaded %+v, saved %+v (%v)", loaded, root, err)
	}
	info, err := client.Stream(ctx, id)
	if err != nil || info.Category != "account" {
		t.Fatalf("stream %+v %v", info, err)
	}
	stale := &aggregate.Root[account]{}
	*stale = *root
	stale.Version = 1
	_ = stale.Record("Deposited", map[string]any{"amount": 1})
	if _, err := repo.Save(ctx, stale); !errors.Is(err, flipbook.ErrVersionConflict) {
		t.Fatalf("a stale save: %v", err)
	}
}

func TestUpdateRetriesConflicts(t *testing.T) {
	_, repo, ctx := setUp(t, aggregate.WithConflictAttempts(20))
	id := newID("shared")
	if _, err := repo.Update(ctx, id, func(r *aggregate.Root[account]) error {
		return r.Record("Opened", map[string]any{"owner": "team"})
	}); err != nil {
		t.Fatal(err)
	}
	const writers = 6
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := repo.Update(ctx, id, func(r *aggregate.Root[account]) error {
				return r.Record("Deposited", map[string]any{"amount": 10})
			})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	root, err := repo.Load(ctx, id)
	if err != nil || root.State.Balance != 10*writers || root.Version != writers+1 {
		t.Fatalf("after %d racing writers: %+v %v", writers, root, err)
	}
	boom := errors.New("refused")
	if _, err := repo.Update(ctx, id, func(*aggregate.Root[account]) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("a command's error: %v", err)
	}
}

func TestSnapshotAwareLoading(t *testing.T) {
	client, repo, ctx := setUp(t, aggregate.WithSnapshots("account-v1", 3))
	id := newID("snap")
	root, _ := repo.Load(ctx, id)
	_ = root.Record("Opened", map[string]any{"owner": "bo"})
	for range 6 {
		_ = root.Record("Deposited", map[string]any{"amount": 1})
	}
	if _, err := repo.Save(ctx, root); err != nil {
		t.Fatal(err)
	}
	snapshot, err := client.Snapshot(ctx, id, flipbook.Revision("account-v1"))
	if err != nil || snapshot.Version != 7 {
		t.Fatalf("the save of versions 1-7 stores a snapshot at 7: %+v %v", snapshot, err)
	}
	// A snapshot whose state differs from the events shows that Load starts from it.
	marked := account{Owner: "from-snapshot", Balance: 1000, Events: 7}
	if _, err := client.SetSnapshot(ctx, flipbook.SnapshotInput{StreamID: id, Version: 7, Payload: marked, Revision: "account-v1"}); err != nil {
		t.Fatal(err)
	}
	_ = root.Record("Deposited", map[string]any{"amount": 5})
	if _, err := repo.Save(ctx, root); err != nil {
		t.Fatal(err)
	}
	loaded, err := repo.Load(ctx, id)
	if err != nil || loaded.State.Balance != 1005 || loaded.State.Owner != "from-snapshot" || loaded.Version != 8 {
		t.Fatalf("loaded %+v %v", loaded, err)
	}
	// Another revision's snapshots are ignored: the state is folded from the first event.
	other, err := aggregate.New(client, applyAccount, aggregate.WithSnapshots("account-v2", 100))
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := other.Load(ctx, id)
	if err != nil || fresh.State.Balance != 11 || fresh.State.Owner != "bo" {
		t.Fatalf("loaded without the v1 snapshot: %+v %v", fresh, err)
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	client, _, _ := setUp(t)
	if _, err := aggregate.New(client, applyAccount, aggregate.WithSnapshots("", 5)); err == nil {
		t.Fatal("snapshots without a revision were accepted")
	}
	if _, err := aggregate.New[account](client, nil); err == nil {
		t.Fatal("a nil apply was accepted")
	}
}
