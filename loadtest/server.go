package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/keyhole-search/keyhole/api"
	"github.com/keyhole-search/keyhole/auth"
	"github.com/keyhole-search/keyhole/index"
	"github.com/keyhole-search/keyhole/internal/child"
	"github.com/keyhole-search/keyhole/query"
	"github.com/keyhole-search/keyhole/ratelimit"
)

// server is the keyhole server under test: in this process, or a child process.
type server struct {
	base string
	// memory returns the server's memory in bytes: the Go heap in use when in-process
	// (load generator included), the resident set size of the child otherwise.
	memory  func() (uint64, error)
	memName string
	stop    func()
}

// checkLoopback refuses any listen address that is not on the loopback interface: the load
// test must never be pointed at a server that others use.
func checkLoopback(listen string) error {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("-listen %q: %v", listen, err)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-listen %q: refusing a non-loopback address; the load test only runs against its own server on 127.0.0.1 or ::1", listen)
	}
	return nil
}

// startInProcess wires the real server as `keyhole serve` does (index manager, key store,
// verifier, rate limiter, api.NewServer) and serves it on listen.
func startInProcess(listen, dataDir, adminKey string, logw io.Writer) (*server, error) {
	logger := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelWarn}))
	indexes, err := index.Open(dataDir, logger)
	if err != nil {
		return nil, err
	}
	keys, err := auth.OpenKeyStore(dataDir+"/keys.db", time.Now)
	if err != nil {
		indexes.Close()
		return nil, err
	}
	verifier := auth.NewVerifier(auth.VerifierOptions{AdminKey: adminKey, Store: keys, Now: time.Now, Logger: logger})
	h := api.NewServer(api.Deps{
		Indexes: indexes, Search: query.NewService(indexes), Auth: verifier, Keys: keys, Logger: logger,
		Limiter: ratelimit.New(ratelimit.Options{}),
	})
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		keys.Close()
		indexes.Close()
		return nil, err
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	return &server{
		base:    "http://" + ln.Addr().String(),
		memName: "heap in use (whole process, load generator included)",
		memory: func() (uint64, error) {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			return ms.HeapInuse, nil
		},
		stop: func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = hs.Shutdown(ctx)
			keys.Close()
			indexes.Close()
		},
	}, nil
}

// startChild runs `bin serve` (a keyhole binary built beforehand) as a child process.
func startChild(bin, listen, dataDir, adminKey string, logw io.Writer) (*server, error) {
	p, err := child.Start(exec.Command(bin, "serve", "--listen", listen, "--data-dir", dataDir, "--admin-key", adminKey, "--log-level", "warn"), logw, 60*time.Second)
	if err != nil {
		return nil, err
	}
	pid := p.Pid()
	return &server{
		base:    p.Base,
		memName: fmt.Sprintf("RSS of the server process %d", pid),
		memory:  func() (uint64, error) { return rssOf(pid) },
		stop:    func() { p.Stop(20 * time.Second) },
	}, nil
}

// rssOf reads VmRSS from /proc/<pid>/status.
func rssOf(pid int) (uint64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) >= 1 {
				kb, err := strconv.ParseUint(f[0], 10, 64)
				return kb << 10, err
			}
		}
	}
	return 0, errors.New("no VmRSS in /proc status")
}
