package flipbook_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	flipbook "github.com/flipbook/flipbook/clients/go"
	"github.com/flipbook/flipbook/clients/go/internal/testserver"
	"go.uber.org/goleak"
)

// server is the real `manage.py serve` every test of this package talks to.
var server *testserver.Server

func TestMain(m *testing.M) {
	var err error
	server, err = testserver.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("flipbook tests: serve on %s (%s)\n", server.GRPCTarget, server.Database)
	code := m.Run()
	server.Close()
	if code == 0 {
		// Every client is closed and every stream ended: nothing of the SDK may run on.
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goroutines left behind: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// newClient returns a client of target with the admin key, closed when the test ends.
func newClient(t *testing.T, target string, opts ...flipbook.Option) *flipbook.Client {
	t.Helper()
	client, err := flipbook.New(target, append([]flipbook.Option{flipbook.WithAPIKey(server.Key)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return client
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// runID is a prefix unique to one test run, so tests can share the server.
func runID(t *testing.T) string {
	return fmt.Sprintf("go%d-%s", time.Now().UnixNano()%1_000_000_000, flipbook.NewEventID()[:8])
}
