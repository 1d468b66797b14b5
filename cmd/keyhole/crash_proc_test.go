package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Environment of the server child process of the crash and read-only tests.
const (
	crashChildEnv = "KEYHOLE_CRASH_CHILD"
	crashDirEnv   = "KEYHOLE_CRASH_DIR"
	crashAdminEnv = "KEYHOLE_CRASH_ADMIN"
)

// TestCrashChild is not a test of its own: it is the server process of TestCrashRecovery and
// TestReadOnlyDataDir, which re-execute the test binary with KEYHOLE_CRASH_CHILD=1. It runs
// the real `keyhole serve` until killed, or until its stdin closes (the parent is gone).
func TestCrashChild(t *testing.T) {
	if os.Getenv(crashChildEnv) != "1" {
		t.Skip("helper process of the crash tests (runs only with KEYHOLE_CRASH_CHILD=1)")
	}
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(4) // the parent test died without killing us
	}()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	args := []string{"serve", "--listen", "127.0.0.1:0", "--data-dir", os.Getenv(crashDirEnv),
		"--admin-key", os.Getenv(crashAdminEnv)}
	if err := run(ctx, args, func(string) string { return "" }, strings.NewReader(""), os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "keyhole:", err)
		os.Exit(3)
	}
	os.Exit(0)
}

// serverProc is one server child process.
type serverProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *syncBuffer // stdout and stderr (the slog log) together
	base  string
	done  chan struct{}
	hc    *http.Client
}

// childOptions tune startChild.
type childOptions struct {
	bin  string               // executable (default: this test binary)
	attr *syscall.SysProcAttr // e.g. to run as another user
	dir  string               // working directory
}

var listeningRE = regexp.MustCompile(`keyhole listening on (http://\S+)`)

// startChild starts the server on dataDir and waits until /health answers 200.
func startChild(dataDir, admin string, o childOptions) (*serverProc, error) {
	bin := o.bin
	if bin == "" {
		bin = os.Args[0]
	}
	cmd := exec.Command(bin, "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"=1", crashDirEnv+"="+dataDir, crashAdminEnv+"="+admin)
	cmd.SysProcAttr = o.attr
	cmd.Dir = o.dir
	if cmd.Dir == "" {
		cmd.Dir = dataDir
	}
	p := &serverProc{cmd: cmd, out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	p.stdin = stdin
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = cmd.Wait(); close(p.done) }()
	deadline := time.Now().Add(90 * time.Second)
	for p.base == "" {
		if m := listeningRE.FindStringSubmatch(p.out.String()); m != nil {
			p.base = m[1]
			break
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("server exited before listening:\n%s", p.out.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.kill()
			return nil, fmt.Errorf("server did not print its address within 90 s:\n%s", p.out.String())
		}
	}
	p.hc = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	for {
		resp, err := p.hc.Get(p.base + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		if time.Now().After(deadline) {
			p.kill()
			return nil, fmt.Errorf("server not healthy within 90 s:\n%s", p.out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// kill sends SIGKILL to the child (by its process id) and waits for it to be gone.
func (p *serverProc) kill() {
	if p == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.done
	_ = p.stdin.Close()
	if p.hc != nil {
		p.hc.CloseIdleConnections()
	}
}

// waitOutput waits until the child's output contains s (it arrives through a pipe).
func (p *serverProc) waitOutput(s string, d time.Duration) bool {
	for deadline := time.Now().Add(d); ; time.Sleep(10 * time.Millisecond) {
		if strings.Contains(p.out.String(), s) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// call sends a JSON request with key and returns the status and body. err is a transport
// error (or a body that could not be read): the outcome of a write is then unknown.
func (p *serverProc) call(ctx context.Context, method, path, key string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("X-Algolia-API-Key", key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, err
	}
	return resp.StatusCode, data, nil
}

// errStatus is an unexpected HTTP status.
type errStatus struct {
	method, path string
	status       int
	body         string
}

func (e *errStatus) Error() string {
	return fmt.Sprintf("%s %s: status %d: %s", e.method, e.path, e.status, strings.TrimSpace(e.body))
}

// mustJSON calls and decodes a 200 answer into out (nil: ignore the body). A transport error
// or another status is returned as an error (an *errStatus for a status).
func (p *serverProc) mustJSON(ctx context.Context, method, path, key string, body, out any) error {
	status, data, err := p.call(ctx, method, path, key, body)
	if err != nil {
		return err
	}
	if status != http.StatusOK && status != http.StatusCreated {
		return &errStatus{method, path, status, string(data)}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decode %q: %w", method, path, data, err)
	}
	return nil
}

func isStatus(err error, status int) bool {
	var es *errStatus
	return errors.As(err, &es) && es.status == status
}
