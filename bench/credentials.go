package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// credentialTargets is target 5: it runs the auth package's credential benchmarks (10,000
// stored keys) with `go test -bench` and compares each median with its goal.
func credentialTargets(ctx context.Context, rep *report, logw io.Writer) error {
	logf(logw, "target 5: go test -bench in ./auth (5 runs each)")
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", credentialBenchPattern, "-benchtime", "1s", "-count", "5", "github.com/keyhole-search/keyhole/auth")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("go test -bench: %w\n%s", err, out)
	}
	ns := parseBench(out)
	if len(ns) == 0 {
		return fmt.Errorf("go test -bench printed no benchmark matching %s", credentialBenchPattern)
	}
	names := make([]string, 0, len(ns))
	for name := range ns {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		v := median(ns[name]) / 1e9
		goal, limit := credentialGoal(name)
		if limit == 0 {
			rep.info("5", name, fmtDur(v), "", 0)
			continue
		}
		rep.add("5", name, fmtDur(v), "goal "+fmtDur(limit), v/limit, goal, v < limit)
	}
	return nil
}

// credentialBenchPattern selects the credential benchmarks of package auth.
const credentialBenchPattern = "^Benchmark(SecuredKey|StoredKey|Token)$"

// credentialGoal returns the goal of a credential benchmark by its name (0: information).
func credentialGoal(name string) (string, float64) {
	n := strings.ToLower(name)
	switch {
	case strings.Contains(n, "forged") || strings.Contains(n, "cold") || strings.Contains(n, "unique"):
		return "", 0
	case strings.Contains(n, "cached"):
		return "< 1 µs", 1e-6
	case strings.Contains(n, "first") && strings.Contains(n, "token"):
		return "< 10 µs", 10e-6
	case strings.Contains(n, "first") && strings.Contains(n, "secured"):
		return "< 5 µs", 5e-6
	}
	return "", 0
}

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([0-9.]+) ns/op`)

// parseBench returns the ns/op of each benchmark line of go test output, by name.
func parseBench(out []byte) map[string][]float64 {
	res := map[string][]float64{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if m := benchLine.FindStringSubmatch(sc.Text()); m != nil {
			v, err := strconv.ParseFloat(m[2], 64)
			if err == nil {
				res[m[1]] = append(res[m[1]], v)
			}
		}
	}
	return res
}
