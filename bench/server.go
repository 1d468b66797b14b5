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
	"path/filepath"
	"strconv"
	"time"
)

// goBuild builds a package of this module into dir and returns the binary's path.
func goBuild(ctx context.Context, dir, pkg, name string) (string, error) {
	out := filepath.Join(dir, name)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build %s: %w", pkg, err)
	}
	return out, nil
}

// api is a small client of keyhole's Algolia-dialect API.
type client struct {
	base string
	key  string
	hc   *http.Client
}

func (a *client) call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("X-Algolia-API-Key", a.key)
	req.Header.Set("X-Algolia-Application-Id", "keyhole")
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(data))
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// waitTask waits until a task of index is published.
func (a *client) waitTask(ctx context.Context, index string, task int64) error {
	for {
		var st struct {
			Status string `json:"status"`
		}
		if err := a.call(ctx, http.MethodGet, "/1/indexes/"+index+"/task/"+strconv.FormatInt(task, 10), nil, &st); err != nil {
			return err
		}
		if st.Status == "published" {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// setSettings sets settings and waits for them (and any rebuild they start) to apply.
func (a *client) setSettings(ctx context.Context, index string, settings map[string]any) error {
	var r struct {
		TaskID int64 `json:"taskID"`
	}
	if err := a.call(ctx, http.MethodPut, "/1/indexes/"+index+"/settings", settings, &r); err != nil {
		return err
	}
	return a.waitTask(ctx, index, r.TaskID)
}

// nbHits returns the number of records an empty query finds.
func (a *client) nbHits(ctx context.Context, index string) (int, error) {
	var r struct {
		NbHits int `json:"nbHits"`
	}
	err := a.call(ctx, http.MethodPost, "/1/indexes/"+index+"/query", map[string]any{"query": "", "hitsPerPage": 0}, &r)
	return r.NbHits, err
}

// waitIdle waits until the index lists no pending task (settings rebuilds, and the re-layout of
// a partitioned index that starts once writes pause).
func (a *client) waitIdle(ctx context.Context, index string) error {
	for {
		var r struct {
			Items []struct {
				Name        string `json:"name"`
				PendingTask bool   `json:"pendingTask"`
			} `json:"items"`
		}
		if err := a.call(ctx, http.MethodGet, "/1/indexes", nil, &r); err != nil {
			return err
		}
		busy := false
		for _, it := range r.Items {
			busy = busy || (it.Name == index && it.PendingTask)
		}
		if !busy {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

var errNoShards = errors.New("this keyhole does not know the tenantAttribute setting")
