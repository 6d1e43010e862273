// Command bankaccount is a bank-account aggregate on Flipbook: it opens an account, makes
// deposits and withdrawals through the aggregate repository (a withdrawal beyond the
// balance is refused by the aggregate, a racing writer is retried), and prints the state.
//
//	FLIPBOOK_API_KEY=<key> go run ./examples/bankaccount [account-id]
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	flipbook "github.com/flipbook/flipbook/clients/go"
	"github.com/flipbook/flipbook/clients/go/aggregate"
)

// Account is the state of one bank account.
type Account struct {
	Owner   string `json:"owner"`   // who opened it
	Balance int64  `json:"balance"` // in cents
	Open    bool   `json:"open"`    // true once opened
}

type amount struct {
	Cents int64 `json:"cents"`
}

// ErrInsufficientFunds is the refusal of a withdrawal beyond the balance.
var ErrInsufficientFunds = errors.New("insufficient funds")

// apply folds one event into an account.
func apply(state Account, event flipbook.Event) (Account, error) {
	switch event.Name {
	case "Opened":
		var opened struct {
			Owner string `json:"owner"`
		}
		if err := event.DecodePayload(&opened); err != nil {
			return state, err
		}
		state.Owner, state.Open = opened.Owner, true
	case "Deposited", "Withdrawn":
		var a amount
		if err := event.DecodePayload(&a); err != nil {
			return state, err
		}
		if event.Name == "Withdrawn" {
			a.Cents = -a.Cents
		}
		state.Balance += a.Cents
	default:
		return state, fmt.Errorf("unknown event %q", event.Name)
	}
	return state, nil
}

// withdraw is a command: it checks the state, then records the event.
func withdraw(cents int64) func(*aggregate.Root[Account]) error {
	return func(root *aggregate.Root[Account]) error {
		if root.State.Balance < cents {
			return fmt.Errorf("withdraw %d from %d: %w", cents, root.State.Balance, ErrInsufficientFunds)
		}
		return root.Record("Withdrawn", amount{Cents: cents})
	}
}

func deposit(cents int64) func(*aggregate.Root[Account]) error {
	return func(root *aggregate.Root[Account]) error {
		if !root.State.Open {
			return errors.New("the account is not open")
		}
		return root.Record("Deposited", amount{Cents: cents})
	}
}

// run does the whole walk-through against the server at target and writes what happens.
func run(ctx context.Context, target, key, accountID string, out io.Writer) error {
	client, err := flipbook.New(target, flipbook.WithAPIKey(key))
	if err != nil {
		return err
	}
	defer client.Close()
	accounts, err := aggregate.New(client, apply,
		aggregate.WithCategory("bank-account"), aggregate.WithSnapshots("account-v1", 10))
	if err != nil {
		return err
	}
	root, err := accounts.Update(ctx, accountID, func(root *aggregate.Root[Account]) error {
		if root.Version > 0 {
			return nil // already open: nothing to record
		}
		return root.Record("Opened", map[string]string{"owner": "ada"})
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "account %s opened for %s\n", accountID, root.State.Owner)
	for _, command := range []func(*aggregate.Root[Account]) error{deposit(10_000), withdraw(2_500), withdraw(1_000_000)} {
		root, err = accounts.Update(ctx, accountID, command)
		if errors.Is(err, ErrInsufficientFunds) {
			fmt.Fprintf(out, "refused: %v\n", err)
			continue
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "version %d: balance %d cents\n", root.Version, root.State.Balance)
	}
	// The server folds the same events with its own (merge) reducer: the stream's state there.
	state, err := client.State(ctx, accountID)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "server state at version %d: %s\n", state.Version, state.State)
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
	accountID := fmt.Sprintf("account-%d", time.Now().Unix())
	if len(os.Args) > 1 {
		accountID = os.Args[1]
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run(ctx, target, key, accountID, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
