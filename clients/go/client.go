package flipbook

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"time"

	pb "github.com/flipbook/flipbook/clients/go/internal/flipbookpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// maxMessageBytes bounds a message in either direction; an append's response carries the
// stored events, payloads included, so it can exceed gRPC's 4 MiB default.
const maxMessageBytes = 64 << 20

// Client is a connection to a Flipbook server. It is safe for concurrent use; Close it
// when done.
type Client struct {
	conn          *grpc.ClientConn
	events        pb.EventStoreClient
	snapshots     pb.SnapshotStoreClient
	subscriptions pb.SubscriptionsClient
	retry         RetryPolicy
	apiKey        string
}

type config struct {
	apiKey      string
	tls         *tls.Config
	useTLS      bool
	retry       RetryPolicy
	dialOptions []grpc.DialOption
}

// Option configures a Client (see [New]).
type Option func(*config) error

// WithAPIKey sends key with every call (`authorization: Bearer <key>`). Create one with
// `python manage.py flipbook_key create NAME --scope read|write|admin`.
func WithAPIKey(key string) Option {
	return func(c *config) error {
		if strings.ContainsAny(key, " \t\r\n") {
			return errors.New("flipbook: an API key holds no whitespace")
		}
		c.apiKey = key
		return nil
	}
}

// WithTLS connects over TLS with cfg (nil: the system's root certificates). A target
// written "grpcs://host:port" turns TLS on as well.
func WithTLS(cfg *tls.Config) Option {
	return func(c *config) error {
		c.useTLS = true
		c.tls = cfg
		return nil
	}
}

// WithRetryPolicy replaces [DefaultRetryPolicy]; a policy with MaxAttempts 1 never
// retries.
func WithRetryPolicy(policy RetryPolicy) Option {
	return func(c *config) error {
		if err := policy.validate(); err != nil {
			return err
		}
		c.retry = policy
		return nil
	}
}

// WithDialOptions adds gRPC dial options (interceptors, keepalive, a custom dialer, ...),
// applied after the client's own.
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(c *config) error {
		c.dialOptions = append(c.dialOptions, opts...)
		return nil
	}
}

// New returns a client of the Flipbook gRPC server at target: "host:port",
// "grpc://host:port" (plaintext) or "grpcs://host:port" (TLS). It does not connect yet:
// the first call does, and a server that is down shows as [ErrUnavailable] then.
func New(target string, opts ...Option) (*Client, error) {
	cfg := config{retry: DefaultRetryPolicy()}
	switch {
	case strings.HasPrefix(target, "grpcs://"):
		cfg.useTLS = true
		target = strings.TrimPrefix(target, "grpcs://")
	case strings.HasPrefix(target, "grpc://"):
		target = strings.TrimPrefix(target, "grpc://")
	case strings.Contains(target, "://"):
		return nil, fmt.Errorf("flipbook: a target is host:port, grpc://host:port or grpcs://host:port, not %q", target)
	}
	target = strings.TrimSuffix(target, "/")
	if target == "" {
		return nil, errors.New("flipbook: the target is empty; give host:port, e.g. 127.0.0.1:50051")
	}
	for _, opt := range opts {
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	transport := insecure.NewCredentials()
	if cfg.useTLS {
		tlsConfig := cfg.tls
		if tlsConfig == nil {
			tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		transport = credentials.NewTLS(tlsConfig)
	}
	dialOptions := []grpc.DialOption{
		grpc.WithTransportCredentials(transport),
		grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(maxMessageBytes),
			grpc.MaxCallSendMsgSize(maxMessageBytes),
		),
		// Reconnect soon after a server restart; gRPC's default waits a second and more.
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff: backoff.Config{
				BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 3 * time.Second,
			},
			MinConnectTimeout: 5 * time.Second,
		}),
	}
	conn, err := grpc.NewClient(target, append(dialOptions, cfg.dialOptions...)...)
	if err != nil {
		return nil, fmt.Errorf("flipbook: %w", err)
	}
	return &Client{
		conn:          conn,
		events:        pb.NewEventStoreClient(conn),
		snapshots:     pb.NewSnapshotStoreClient(conn),
		subscriptions: pb.NewSubscriptionsClient(conn),
		retry:         cfg.retry,
		apiKey:        cfg.apiKey,
	}, nil
}

// Close closes the connection; calls under way fail.
func (c *Client) Close() error {
	return c.conn.Close()
}

// outgoing adds the API key to a call's metadata.
func (c *Client) outgoing(ctx context.Context) context.Context {
	if c.apiKey == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+c.apiKey)
}

// unary runs one unary call, retried under the client's policy when idempotent, and
// returns its response or the client's error.
func unary[Req, Resp any](
	ctx context.Context,
	c *Client,
	idempotent bool,
	method func(context.Context, Req, ...grpc.CallOption) (Resp, error),
	request Req,
) (Resp, error) {
	var response Resp
	err := c.retry.do(ctx, idempotent, func() error {
		var trailer metadata.MD
		var err error
		response, err = method(c.outgoing(ctx), request, grpc.Trailer(&trailer))
		return errorOf(err, trailer)
	})
	return response, err
}

// NewEventID returns a new random (version 4) UUID for [NewEvent].ID.
func NewEventID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
