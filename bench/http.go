package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// request is one HTTP request of a load: the request file format of -drive, and what the
// harness records for the floor.
type request struct {
	Method string              `json:"method"`
	URL    string              `json:"url"`
	Header map[string][]string `json:"header,omitempty"`
	Body   string              `json:"body,omitempty"`
}

// floorKey identifies a request to the floor server: its path, API key and body.
func floorKey(path, apiKey string, body []byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n", path, apiKey)
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

type floorEntry struct {
	Key  string `json:"key"`
	Body string `json:"body"`
}

// serveFloor is the net/http floor: a plain server that reads each request and answers the
// bytes keyhole answered to the same request, from memory.
func serveFloor(ctx context.Context, file string, stdout io.Writer) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	answers := map[string][]byte{}
	for _, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var e floorEntry
		if err := json.Unmarshal(line, &e); err != nil {
			return err
		}
		answers[e.Key] = []byte(e.Body)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ans, ok := answers[floorKey(r.URL.Path, r.Header.Get("X-Algolia-API-Key"), body)]
		if !ok {
			http.Error(w, "not a recorded request", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(ans)))
		_, _ = w.Write(ans)
	})}
	fmt.Fprintf(stdout, "floor listening on http://%s\n", ln.Addr())
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		return err
	}
	return nil
}

// vegeta runs `vegeta attack` at the highest rate conns workers can reach for d and returns
// its JSON report.
type loadResult struct {
	Throughput float64 `json:"throughput"`
	Success    float64 `json:"success"`
	Requests   int     `json:"requests"`
	Latencies  struct {
		P50 float64 `json:"50th"`
		P99 float64 `json:"99th"`
	} `json:"latencies"`
	StatusCodes map[string]int `json:"status_codes"`
}

func vegeta(ctx context.Context, bin string, reqs []request, conns int, d time.Duration, dir string) (*loadResult, error) {
	var targets bytes.Buffer
	for _, r := range reqs {
		t := map[string]any{"method": r.Method, "url": r.URL, "header": r.Header}
		if r.Body != "" {
			t["body"] = base64.StdEncoding.EncodeToString([]byte(r.Body))
		}
		b, _ := json.Marshal(t)
		targets.Write(b)
		targets.WriteByte('\n')
	}
	tf := filepath.Join(dir, "targets.json")
	if err := os.WriteFile(tf, targets.Bytes(), 0o600); err != nil {
		return nil, err
	}
	rf := filepath.Join(dir, "results.bin")
	c := strconv.Itoa(conns)
	attack := exec.CommandContext(ctx, bin, "attack", "-format=json", "-targets="+tf, "-rate=0", "-workers="+c, "-max-workers="+c,
		"-connections="+c, "-keepalive=true", "-duration="+d.String(), "-output="+rf)
	attack.Stderr = os.Stderr
	if err := attack.Run(); err != nil {
		return nil, fmt.Errorf("vegeta attack: %w", err)
	}
	out, err := exec.CommandContext(ctx, bin, "report", "-type=json", rf).Output()
	if err != nil {
		return nil, fmt.Errorf("vegeta report: %w", err)
	}
	var res loadResult
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, err
	}
	if res.Success < 1 {
		return &res, fmt.Errorf("%.2f%% of requests failed (status codes %v)", 100*(1-res.Success), res.StatusCodes)
	}
	return &res, nil
}

// driveFile is -drive: load any endpoint with a request file and print what vegeta measured.
func driveFile(ctx context.Context, o options, stdout io.Writer) error {
	if o.requests == "" {
		return fmt.Errorf("-drive needs -requests FILE")
	}
	f, err := os.Open(o.requests)
	if err != nil {
		return err
	}
	defer f.Close()
	var reqs []request
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for n := 1; sc.Scan(); n++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var r request
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return fmt.Errorf("%s:%d: %v", o.requests, n, err)
		}
		if r.Method == "" {
			r.Method = http.MethodGet
		}
		if !strings.HasPrefix(r.URL, "http://") && !strings.HasPrefix(r.URL, "https://") {
			return fmt.Errorf("%s:%d: url %q is not an http(s) URL", o.requests, n, r.URL)
		}
		reqs = append(reqs, r)
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if len(reqs) == 0 {
		return fmt.Errorf("%s: no requests", o.requests)
	}
	tmp, err := os.MkdirTemp("", "keyhole-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin, err := goBuild(ctx, tmp, "github.com/tsenart/vegeta/v12", "vegeta")
	if err != nil {
		return err
	}
	res, err := vegeta(ctx, bin, reqs, o.conns, o.duration, tmp)
	if res != nil {
		fmt.Fprintf(stdout, "%d requests, %.0f req/s, p50 %s, p99 %s, success %.2f%%, statuses %v\n", res.Requests, res.Throughput,
			fmtDur(res.Latencies.P50/1e9), fmtDur(res.Latencies.P99/1e9), 100*res.Success, res.StatusCodes)
	}
	return err
}
