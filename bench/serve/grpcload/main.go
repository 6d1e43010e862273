// grpcload: one-event appends to new streams through the Go SDK, N calls in flight, for a
// fixed duration. Prints one JSON line (requests, p50/p99 in microseconds, errors, and the
// CPU this process used, to show it is not the bottleneck) for bench.serve.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	flipbook "github.com/flipbook/flipbook/clients/go"
)

func main() {
	target := flag.String("target", "127.0.0.1:50051", "gRPC address of the server")
	key := flag.String("key", "", "API key")
	concurrency := flag.Int("c", 16, "calls in flight")
	connections := flag.Int("connections", 4, "gRPC connections the calls are spread over")
	duration := flag.Duration("d", 10*time.Second, "how long to send")
	prefix := flag.String("prefix", "grpcload", "stream id prefix, unique per run")
	events := flag.Int("events", 1, "events per append")
	flag.Parse()

	clients := make([]*flipbook.Client, *connections)
	for i := range clients {
		c, err := flipbook.New(*target, flipbook.WithAPIKey(*key),
			flipbook.WithRetryPolicy(flipbook.RetryPolicy{MaxAttempts: 1}))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		defer c.Close()
		clients[i] = c
	}
	batch := make([]flipbook.NewEvent, *events)
	for i := range batch {
		batch[i] = flipbook.NewEvent{Name: "Deposited", Payload: map[string]any{
			"amount": i, "currency": "EUR", "note": "benchmark event"}}
	}
	// Warm up: one call per connection opens it before the clock starts.
	for i, c := range clients {
		if _, err := c.Append(context.Background(), fmt.Sprintf("%s-warm-%d", *prefix, i),
			flipbook.NoStream, batch); err != nil {
			fmt.Fprintln(os.Stderr, "warm-up:", err)
			os.Exit(2)
		}
	}

	var errors atomic.Int64
	var lock sync.Mutex
	var latencies []time.Duration
	var usageBefore syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &usageBefore)
	started := time.Now()
	deadline := started.Add(*duration)
	var wg sync.WaitGroup
	for w := 0; w < *concurrency; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c := clients[w%len(clients)]
			var mine []time.Duration
			for n := 0; time.Now().Before(deadline); n++ {
				t := time.Now()
				_, err := c.Append(context.Background(), fmt.Sprintf("%s-%d-%d", *prefix, w, n),
					flipbook.NoStream, batch)
				if err != nil {
					errors.Add(1)
					continue
				}
				mine = append(mine, time.Since(t))
			}
			lock.Lock()
			latencies = append(latencies, mine...)
			lock.Unlock()
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(started)
	var usageAfter syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &usageAfter)
	cpu := time.Duration(usageAfter.Utime.Nano()+usageAfter.Stime.Nano()-
		usageBefore.Utime.Nano()-usageBefore.Stime.Nano())
	slices.Sort(latencies)
	pct := func(p float64) int64 {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[int(p*float64(len(latencies)-1))].Microseconds()
	}
	out, _ := json.Marshal(map[string]any{
		"requests":    len(latencies),
		"duration_us": elapsed.Microseconds(),
		"p50_us":      pct(0.50),
		"p99_us":      pct(0.99),
		"errors":      errors.Load(),
		"cpu_share":   cpu.Seconds() / elapsed.Seconds(),
	})
	fmt.Println(string(out))
}
