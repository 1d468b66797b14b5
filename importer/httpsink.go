package importer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Defaults for HTTPSink's task polling.
const (
	// DefaultPollInterval is the first wait between two task polls.
	DefaultPollInterval = 100 * time.Millisecond
	// MaxPollInterval caps the doubling wait between task polls.
	MaxPollInterval = 2 * time.Second
)

// maxErrorBody caps how much of an error response is read.
const maxErrorBody = 64 << 10

// HTTPSink sends batches to a keyhole (or Algolia-compatible) server with
// POST /1/indexes/{index}/batch, then waits until the server reports the
// batch's task as published.
//
// Each record becomes an "addObject" request, or an "updateObject" request
// (which replaces the whole object) when it has an objectID. The server takes
// or refuses a batch as a whole: when it refuses one, the error does not say
// which record was wrong, and none of the batch's records should be assumed
// stored. A smaller Batcher.Size narrows the search.
type HTTPSink struct {
	// BaseURL is the server's address, such as http://127.0.0.1:7700.
	//
	// Warning: the API key travels in a header; use https for anything but
	// a loopback address.
	BaseURL string
	// Index is the name of the target index; it is path-escaped.
	Index string
	// APIKey is sent as X-Algolia-API-Key. It needs the addObject right on
	// the index. It never appears in an error.
	APIKey string
	// AppID, if not empty, is sent as X-Algolia-Application-Id.
	AppID string
	// Client is the HTTP client; nil means http.DefaultClient. Cancel the
	// context passed to Send to bound the time spent.
	Client *http.Client
	// PollInterval is the first wait between task polls; it doubles up to
	// MaxPollInterval. 0 means DefaultPollInterval.
	PollInterval time.Duration
}

// HTTPError is a non-2xx answer from the server.
type HTTPError struct {
	// Method and Path name the request, such as POST /1/indexes/x/batch.
	Method, Path string
	// Status is the HTTP status code.
	Status int
	// Message is the server's "message" field, or a short excerpt of the
	// body when it has none.
	Message string
}

// Error implements error.
func (e *HTTPError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("importer: %s %s: %d %s", e.Method, e.Path, e.Status, msg)
}

// batchRequest is the body of POST /1/indexes/{index}/batch.
type batchRequest struct {
	Requests []batchOperation `json:"requests"`
}

type batchOperation struct {
	Action string         `json:"action"`
	Body   map[string]any `json:"body"`
}

// batchResponse is the answer to a batch.
type batchResponse struct {
	TaskID    *json.Number `json:"taskID"`
	ObjectIDs []string     `json:"objectIDs"`
}

// Send posts the records as one batch and waits until its task is
// published, or ctx is done.
func (s *HTTPSink) Send(ctx context.Context, records []map[string]any) error {
	req := batchRequest{Requests: make([]batchOperation, len(records))}
	for i, obj := range records {
		action := "addObject"
		if _, ok := obj["objectID"]; ok {
			action = "updateObject"
		}
		req.Requests[i] = batchOperation{Action: action, Body: obj}
	}
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(req); err != nil {
		return fmt.Errorf("importer: encode batch: %w", err)
	}

	path := "/1/indexes/" + url.PathEscape(s.Index) + "/batch"
	var resp batchResponse
	if err := s.do(ctx, http.MethodPost, path, &body, &resp); err != nil {
		return err
	}
	if resp.ObjectIDs != nil && len(resp.ObjectIDs) != len(records) {
		return fmt.Errorf("importer: POST %s: server acknowledged %d of %d records", path, len(resp.ObjectIDs), len(records))
	}
	if resp.TaskID == nil {
		return nil // a server without tasks: stored on return
	}
	taskID, err := strconv.ParseInt(resp.TaskID.String(), 10, 64)
	if err != nil {
		return fmt.Errorf("importer: POST %s: bad taskID %q", path, resp.TaskID.String())
	}
	return s.wait(ctx, taskID)
}

// wait polls the task until it is published.
func (s *HTTPSink) wait(ctx context.Context, taskID int64) error {
	path := "/1/indexes/" + url.PathEscape(s.Index) + "/task/" + strconv.FormatInt(taskID, 10)
	delay := s.PollInterval
	if delay <= 0 {
		delay = DefaultPollInterval
	}
	for {
		var task struct {
			Status string `json:"status"`
		}
		if err := s.do(ctx, http.MethodGet, path, nil, &task); err != nil {
			return err
		}
		switch task.Status {
		case "published":
			return nil
		case "notPublished":
		default:
			return fmt.Errorf("importer: GET %s: unexpected task status %q", path, task.Status)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("importer: waiting for task %d: %w", taskID, ctx.Err())
		case <-t.C:
		}
		delay = min(delay*2, max(MaxPollInterval, s.PollInterval))
	}
}

// do sends one request and decodes a 2xx JSON answer into out.
func (s *HTTPSink) do(ctx context.Context, method, path string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(s.BaseURL, "/")+path, body)
	if err != nil {
		return fmt.Errorf("importer: %s %s: %w", method, path, s.redact(err))
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "keyhole-import")
	req.Header.Set("X-Algolia-API-Key", s.APIKey)
	if s.AppID != "" {
		req.Header.Set("X-Algolia-Application-Id", s.AppID)
	}
	client := s.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("importer: %s %s: %w", method, path, s.redact(err))
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
	}()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		var e struct {
			Message string `json:"message"`
		}
		msg := ""
		if json.Unmarshal(data, &e) == nil {
			msg = e.Message
		} else {
			msg = strings.TrimSpace(string(data))
			if len(msg) > 200 {
				msg = msg[:200] + "..."
			}
		}
		return &HTTPError{Method: method, Path: path, Status: resp.StatusCode, Message: s.redactString(msg)}
	}
	dec := json.NewDecoder(io.LimitReader(resp.Body, 64<<20))
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("importer: %s %s: bad response: %w", method, path, err)
	}
	return nil
}

// redactString removes the API key from text that came from elsewhere.
func (s *HTTPSink) redactString(msg string) string {
	if s.APIKey == "" {
		return msg
	}
	return strings.ReplaceAll(msg, s.APIKey, "[redacted]")
}

// redact hides the API key in an error's text, should it ever appear there.
func (s *HTTPSink) redact(err error) error {
	if s.APIKey == "" || !strings.Contains(err.Error(), s.APIKey) {
		return err
	}
	return redactedError{msg: s.redactString(err.Error()), err: err}
}

// redactedError is an error whose text had the API key removed; it still
// unwraps to the original (for errors.Is with context errors).
type redactedError struct {
	msg string
	err error
}

func (e redactedError) Error() string { return e.msg }

func (e redactedError) Unwrap() error { return errors.Unwrap(e.err) }
