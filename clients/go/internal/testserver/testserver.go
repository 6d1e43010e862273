// Package testserver starts a real `manage.py serve` (HTTP + gRPC) of the repository for
// the Go client's tests: fresh SQLite by default, a fresh PostgreSQL database when
// FLIPBOOK_TEST_DATABASE_URL is set or CI=true, with an admin API key.
package testserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

const (
	startTimeout       = 90 * time.Second
	defaultPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres"
)

// Server is a running `manage.py serve`.
type Server struct {
	// GRPCTarget is host:port of its gRPC API; HTTPURL the base of its HTTP API.
	GRPCTarget string
	HTTPURL    string // http://127.0.0.1:port
	// Key is an admin-scope API key.
	Key string
	// Database says which database it runs on ("sqlite" or "postgresql").
	Database string

	root, python, varDir string
	env                  []string
	cmd                  *exec.Cmd
	exited               chan struct{}
	logFile              *os.File
	postgresAdminURL     string
	postgresDatabase     string
}

// Root returns the repository root: the nearest directory above the working directory
// that holds manage.py.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "manage.py")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("testserver: no manage.py above the working directory; run the tests inside the Flipbook repository")
		}
		dir = parent
	}
}

// Python returns the repository's .venv python (FLIPBOOK_PYTHON overrides it).
func Python(root string) (string, error) {
	python := os.Getenv("FLIPBOOK_PYTHON")
	if python == "" {
		python = filepath.Join(root, ".venv", "bin", "python")
	}
	if _, err := os.Stat(python); err != nil {
		return "", fmt.Errorf("testserver: no python at %s; run `make .venv/.test-installed` in %s first (or set FLIPBOOK_PYTHON)", python, root)
	}
	return python, nil
}

func freePort() (int, error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer listener.Close()
	return listener.Addr().(*net.TCPAddr).Port, nil
}

// usePostgres says whether the tests run on PostgreSQL, and on which server.
func usePostgres() (string, bool) {
	if u := os.Getenv("FLIPBOOK_TEST_DATABASE_URL"); u != "" {
		return u, true
	}
	if os.Getenv("CI") == "true" {
		return defaultPostgresURL, true
	}
	return "", false
}

// Start migrates a fresh database, creates an admin key and starts serving; it returns
// once the gRPC health service answers SERVING.
func Start() (*Server, error) {
	root, err := Root()
	if err != nil {
		return nil, err
	}
	python, err := Python(root)
	if err != nil {
		return nil, err
	}
	varDir, err := os.MkdirTemp("", "flipbook-go-test-")
	if err != nil {
		return nil, err
	}
	httpPort, err := freePort()
	if err != nil {
		return nil, err
	}
	grpcPort, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &Server{
		GRPCTarget: fmt.Sprintf("127.0.0.1:%d", grpcPort),
		HTTPURL:    fmt.Sprintf("http://127.0.0.1:%d", httpPort),
		root:       root, python: python, varDir: varDir,
	}
	databaseURL := "sqlite:///" + filepath.Join(varDir, "flipbook.sqlite3")
	s.Database = "sqlite"
	if adminURL, ok := usePostgres(); ok {
		databaseURL, err = s.createPostgresDatabase(adminURL)
		if err != nil {
			s.cleanUp()
			return nil, err
		}
		s.Database = "postgresql"
	}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "FLIPBOOK_REDIS_URL", "FLIPBOOK_EVENT_STORE", "FLIPBOOK_SNAPSHOT_STORE", "DJANGO_SETTINGS_MODULE":
			continue // the embedded default: no Redis, the database event store
		}
		s.env = append(s.env, kv)
	}
	s.env = append(s.env,
		"DJANGO_SETTINGS_MODULE=flipbook_site.settings",
		"FLIPBOOK_VAR_DIR="+varDir,
		"FLIPBOOK_DATABASE_URL="+databaseURL,
		fmt.Sprintf("FLIPBOOK_HTTP_PORT=%d", httpPort),
		fmt.Sprintf("FLIPBOOK_GRPC_PORT=%d", grpcPort),
		"FLIPBOOK_SECRET_KEY=go-sdk-tests-secret-key-not-for-production",
	)
	if _, err := s.manage("migrate", "--noinput"); err != nil {
		s.cleanUp()
		return nil, err
	}
	key, err := s.manage("flipbook_key", "create", "go-sdk-tests", "--scope", "admin")
	if err != nil {
		s.cleanUp()
		return nil, err
	}
	s.Key = strings.TrimSpace(key)
	if err := s.Restart(); err != nil {
		s.cleanUp()
		return nil, err
	}
	return s, nil
}

func (s *Server) manage(args ...string) (string, error) {
	cmd := exec.Command(s.python, append([]string{"manage.py"}, args...)...)
	cmd.Dir = s.root
	cmd.Env = s.env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("testserver: manage.py %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
}

// Restart starts the server process (again, after Kill or Stop) on the same ports and
// database, and waits until it serves.
func (s *Server) Restart() error {
	if s.cmd != nil {
		return errors.New("testserver: the server is already running")
	}
	logFile, err := os.OpenFile(filepath.Join(s.varDir, "serve.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(s.python, "manage.py", "serve")
	cmd.Dir = s.root
	cmd.Env = s.env
	// Its JSON log goes to a file: a pipe nobody reads would fill up and block the server.
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return err
	}
	s.cmd, s.logFile, s.exited = cmd, logFile, make(chan struct{})
	go func(exited chan struct{}) {
		_ = cmd.Wait()
		close(exited)
	}(s.exited)
	if err := s.waitServing(); err != nil {
		s.Kill()
		return fmt.Errorf("%w\n%s", err, s.LogTail(3000))
	}
	return nil
}

func (s *Server) waitServing() error {
	conn, err := grpc.NewClient(s.GRPCTarget, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	health := healthpb.NewHealthClient(conn)
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return errors.New("testserver: serve exited before serving")
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		response, err := health.Check(ctx, &healthpb.HealthCheckRequest{})
		cancel()
		if err == nil && response.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("testserver: serve did not answer within %s", startTimeout)
}

// Kill ends the server with SIGKILL (no shutdown at all) and waits for it to be gone.
func (s *Server) Kill() {
	s.signal(syscall.SIGKILL, 10*time.Second)
}

// Stop ends the server with SIGTERM (a graceful shutdown), with SIGKILL after 20 s.
func (s *Server) Stop() {
	s.signal(syscall.SIGTERM, 20*time.Second)
}

func (s *Server) signal(sig syscall.Signal, grace time.Duration) {
	if s.cmd == nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, sig)
	select {
	case <-s.exited:
	case <-time.After(grace):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
	}
	s.logFile.Close()
	s.cmd = nil
}

// Close stops the server and removes its database and files.
func (s *Server) Close() {
	s.Stop()
	s.cleanUp()
}

// LogTail returns the last n bytes of the server's log.
func (s *Server) LogTail(n int) string {
	data, _ := os.ReadFile(filepath.Join(s.varDir, "serve.log"))
	if len(data) > n {
		data = data[len(data)-n:]
	}
	return string(data)
}

func (s *Server) cleanUp() {
	if s.postgresDatabase != "" {
		_ = s.postgres(s.postgresAdminURL, "DROP DATABASE IF EXISTS "+s.postgresDatabase+" WITH (FORCE)")
	}
	_ = os.RemoveAll(s.varDir)
}

// createPostgresDatabase creates a fresh database on the server of adminURL (with the
// venv's psycopg, so the tests need no PostgreSQL client of their own) and returns its URL.
func (s *Server) createPostgresDatabase(adminURL string) (string, error) {
	parsed, err := url.Parse(adminURL)
	if err != nil {
		return "", fmt.Errorf("testserver: FLIPBOOK_TEST_DATABASE_URL is not a URL: %w", err)
	}
	name := fmt.Sprintf("test_flipbook_go_%d_%d", os.Getpid(), time.Now().UnixNano()%1_000_000)
	if err := s.postgres(adminURL, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("testserver: PostgreSQL at %s (FLIPBOOK_TEST_DATABASE_URL, CI=true): %w", parsed.Redacted(), err)
	}
	s.postgresAdminURL, s.postgresDatabase = adminURL, name
	parsed.Path = "/" + name
	return parsed.String(), nil
}

func (s *Server) postgres(adminURL, statement string) error {
	script := "import psycopg, sys\nwith psycopg.connect(sys.argv[1], autocommit=True) as c:\n    c.execute(sys.argv[2])\n"
	cmd := exec.Command(s.python, "-c", script, adminURL, statement)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w\n%s", statement, err, out)
	}
	return nil
}

// CreateKey creates an API key of scope (read, write, admin), restricted to stream ids
// starting with prefix when it is not empty, and returns it.
func (s *Server) CreateKey(name, scope, prefix string) (string, error) {
	args := []string{"flipbook_key", "create", name, "--scope", scope}
	if prefix != "" {
		args = append(args, "--prefix", prefix)
	}
	key, err := s.manage(args...)
	return strings.TrimSpace(key), err
}
