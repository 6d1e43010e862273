package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/flipbook/flipbook/clients/go/internal/testserver"
)

func TestBankAccountExample(t *testing.T) {
	server, err := testserver.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out strings.Builder
	id := fmt.Sprintf("account-test-%d", time.Now().UnixNano())
	if err := run(ctx, server.GRPCTarget, server.Key, id, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	want := []string{
		"account " + id + " opened for ada",
		"version 2: balance 10000 cents",
		"version 3: balance 7500 cents",
		"refused: withdraw 1000000 from 7500: insufficient funds",
		"server state at version 3: ",
	}
	for _, line := range want {
		if !strings.Contains(out.String(), line) {
			t.Fatalf("the output lacks %q:\n%s", line, out.String())
		}
	}
	// Run again on the same account: it is not opened twice and goes on from version 3.
	out.Reset()
	if err := run(ctx, server.GRPCTarget, server.Key, id, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "version 4: balance 17500 cents") {
		t.Fatalf("a second run:\n%s", out.String())
	}
	fmt.Fprint(os.Stdout, out.String())
}
