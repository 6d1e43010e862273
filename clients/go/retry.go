package flipbook

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// RetryPolicy says how a call that is safe to repeat is retried when the server is
// unavailable ([ErrUnavailable]: it is down, restarting, or refused the call for load).
// Reads, stream heads, states, snapshot sets and gets, subscription reads and acks are
// safe; appends and commits are safe only when every event carries an ID (a re-send is
// then answered as a duplicate). Other calls are never retried. The context's deadline
// bounds the whole: no retry starts after it.
type RetryPolicy struct {
	// MaxAttempts counts the first try; 1 never retries.
	MaxAttempts int
	// InitialBackoff is the wait before the first retry; each later wait is Multiplier
	// times longer, at most MaxBackoff.
	InitialBackoff time.Duration
	MaxBackoff     time.Duration // the longest wait
	Multiplier     float64       // growth of each wait over the previous one
	// Jitter is the random fraction (0 to 1) taken off or added to each wait, so that
	// clients that failed together do not retry together.
	Jitter float64
	// OnRetry, when set, is called before each wait (for logging or metrics).
	OnRetry func(attempt int, err error, wait time.Duration)
}

// DefaultRetryPolicy is 6 attempts over about 6 seconds: waits of 100 ms growing by 2x up
// to 2 s, ±20 %.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{
		MaxAttempts:    6,
		InitialBackoff: 100 * time.Millisecond,
		MaxBackoff:     2 * time.Second,
		Multiplier:     2,
		Jitter:         0.2,
	}
}

// NoRetry is a policy that never retries.
func NoRetry() RetryPolicy { return RetryPolicy{MaxAttempts: 1} }

func (p RetryPolicy) validate() error {
	switch {
	case p.MaxAttempts < 1:
		return errors.New("flipbook: RetryPolicy.MaxAttempts must be at least 1")
	case p.MaxAttempts > 1 && (p.InitialBackoff <= 0 || p.MaxBackoff < p.InitialBackoff):
		return errors.New("flipbook: RetryPolicy needs InitialBackoff > 0 and MaxBackoff >= InitialBackoff")
	case p.MaxAttempts > 1 && p.Multiplier < 1:
		return errors.New("flipbook: RetryPolicy.Multiplier must be at least 1")
	case p.Jitter < 0 || p.Jitter > 1:
		return errors.New("flipbook: RetryPolicy.Jitter must be between 0 and 1")
	}
	return nil
}

// wait returns the backoff before retry number attempt (1 = the first retry).
func (p RetryPolicy) wait(attempt int) time.Duration {
	wait := float64(p.InitialBackoff)
	for i := 1; i < attempt && wait < float64(p.MaxBackoff); i++ {
		wait *= p.Multiplier
	}
	wait = min(wait, float64(p.MaxBackoff))
	if p.Jitter > 0 {
		wait *= 1 + p.Jitter*(2*rand.Float64()-1)
	}
	return time.Duration(wait)
}

// do runs call, and again after a backoff while it fails with a retryable error, the call
// is idempotent, attempts are left and ctx is alive.
func (p RetryPolicy) do(ctx context.Context, idempotent bool, call func() error) error {
	for attempt := 1; ; attempt++ {
		err := call()
		if err == nil || !idempotent || attempt >= p.MaxAttempts || !IsRetryable(err) {
			return err
		}
		if ctxErr := sleep(ctx, p.wait(attempt), func(d time.Duration) {
			if p.OnRetry != nil {
				p.OnRetry(attempt, err, d)
			}
		}); ctxErr != nil {
			return errors.Join(ctxErr, err) // matches both the context's error and the last one
		}
	}
}

// sleep waits d (calling before first) or until ctx ends, returning ctx's error then.
func sleep(ctx context.Context, d time.Duration, before func(time.Duration)) error {
	if before != nil {
		before(d)
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}
