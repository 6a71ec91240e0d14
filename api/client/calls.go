package client

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/barrage/barrage/reports"
)

// CreateScenario stores a scenario (its JSON form).
func (c *Client) CreateScenario(ctx context.Context, scenarioJSON []byte) (*ScenarioRef, error) {
	var out ScenarioRef
	err := c.do(ctx, http.MethodPost, "/scenarios", "", "application/json", bytes.NewReader(scenarioJSON), &out)
	return &out, err
}

// UpdateScenario stores a new version of a scenario.
func (c *Client) UpdateScenario(ctx context.Context, id string, scenarioJSON []byte) (*ScenarioRef, error) {
	var out ScenarioRef
	err := c.do(ctx, http.MethodPut, "/scenarios/"+url.PathEscape(id), "", "application/json", bytes.NewReader(scenarioJSON), &out)
	return &out, err
}

// ListScenarios lists stored scenarios, newest first.
func (c *Client) ListScenarios(ctx context.Context) ([]ScenarioInfo, error) {
	var out struct {
		Scenarios []ScenarioInfo `json:"scenarios"`
	}
	err := c.doJSON(ctx, http.MethodGet, "/scenarios", "", nil, &out)
	return out.Scenarios, err
}

// StartRun starts a run of a stored scenario.
func (c *Client) StartRun(ctx context.Context, req RunRequest) (*Run, error) {
	var out Run
	err := c.doJSON(ctx, http.MethodPost, "/runs", "", req, &out)
	return &out, err
}

// GetRun returns a run.
func (c *Client) GetRun(ctx context.Context, id string) (*Run, error) {
	var out Run
	err := c.doJSON(ctx, http.MethodGet, "/runs/"+url.PathEscape(id), "", nil, &out)
	return &out, err
}

// RunList filters ListRuns.
type RunList struct {
	ScenarioID, Status, Tag, Before string
	Limit                           int
}

// ListRuns lists runs, newest first.
func (c *Client) ListRuns(ctx context.Context, f RunList) ([]Run, string, error) {
	q := url.Values{}
	for k, v := range map[string]string{"scenario_id": f.ScenarioID, "status": f.Status, "tag": f.Tag, "before": f.Before} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var out struct {
		Runs []Run  `json:"runs"`
		Next string `json:"next"`
	}
	err := c.doJSON(ctx, http.MethodGet, "/runs?"+q.Encode(), "", nil, &out)
	return out.Runs, out.Next, err
}

// Abort stops a run; by names who asks.
func (c *Client) Abort(ctx context.Context, id, by, reason string) error {
	return c.doJSON(ctx, http.MethodPost, "/runs/"+url.PathEscape(id)+"/abort", "", map[string]string{"by": by, "reason": reason}, nil)
}

// Ramp changes a run's target load: VUs or iterations/s, reached over over.
func (c *Client) Ramp(ctx context.Context, id string, target float64, over time.Duration, by string) error {
	body := map[string]any{"target": target, "over_seconds": over.Seconds(), "by": by}
	return c.doJSON(ctx, http.MethodPost, "/runs/"+url.PathEscape(id)+"/ramp", "", body, nil)
}

// Report returns a run's report in a format: "json" (report.json),
// "junit", "html" (one self-contained file) or "pdf".
func (c *Client) Report(ctx context.Context, id, format string) ([]byte, error) {
	path := "/runs/" + url.PathEscape(id) + "/report"
	if format != "" && format != "json" {
		path += "?format=" + url.QueryEscape(format)
	}
	var out []byte
	err := c.do(ctx, http.MethodGet, path, "", "", nil, &out)
	return out, err
}

// Compare returns head's metrics against base's, and head's baseline
// thresholds evaluated against base (GET /runs/compare).
func (c *Client) Compare(ctx context.Context, base, head string) (*reports.Comparison, error) {
	var out reports.Comparison
	q := url.Values{"base": {base}, "head": {head}}
	err := c.doJSON(ctx, http.MethodGet, "/runs/compare?"+q.Encode(), "", nil, &out)
	return &out, err
}

// DeleteRun deletes a finished run and everything stored of it (admin).
func (c *Client) DeleteRun(ctx context.Context, id string) error {
	return c.doJSON(ctx, http.MethodDelete, "/runs/"+url.PathEscape(id), "", nil, nil)
}

// Metrics follows a run's live metrics (Server-Sent Events).
func (c *Client) Metrics(ctx context.Context, id, lastID string, fn func(Event) bool) error {
	return c.Stream(ctx, "/runs/"+url.PathEscape(id)+"/metrics", lastID, fn)
}

// Health reports whether the server is ready.
func (c *Client) Health(ctx context.Context) error {
	return c.doJSON(ctx, http.MethodGet, "/healthz", "", nil, nil)
}

// ---- the worker side: ingest, control, spec, registry ----

// Spec fetches a run's spec with the run's token.
func (c *Client) Spec(ctx context.Context, runID, token string) (*RunSpec, error) {
	var out RunSpec
	err := c.doJSON(ctx, http.MethodGet, "/ingest/runs/"+url.PathEscape(runID)+"/spec", token, nil, &out)
	return &out, err
}

// Control fetches a run's current control (profile, shares, abort).
func (c *Client) Control(ctx context.Context, runID, token string) (*Control, error) {
	return c.ControlAfter(ctx, runID, token, -1, 0)
}

// ControlAfter waits up to wait for a control newer than version after and
// returns it; when none came, the answer carries only the version, which
// is then not above after.
func (c *Client) ControlAfter(ctx context.Context, runID, token string, after int, wait time.Duration) (*Control, error) {
	return c.ControlFor(ctx, runID, token, nil, after, wait)
}

// ControlFor is ControlAfter on behalf of shard who (nil: none named).
func (c *Client) ControlFor(ctx context.Context, runID, token string, who *ShardRef, after int, wait time.Duration) (*Control, error) {
	q := url.Values{}
	if who != nil {
		q.Set("shard", strconv.Itoa(who.Shard))
		q.Set("attempt", strconv.Itoa(who.Attempt))
		q.Set("worker", who.Worker)
	}
	if after >= 0 {
		q.Set("after", strconv.Itoa(after))
	}
	if wait > 0 {
		q.Set("wait", strconv.FormatFloat(wait.Seconds(), 'f', 3, 64))
	}
	path := "/ingest/runs/" + url.PathEscape(runID) + "/control"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out Control
	err := c.doJSON(ctx, http.MethodGet, path, token, nil, &out)
	return &out, err
}

// PostSnapshot sends one encoded snapshot.
func (c *Client) PostSnapshot(ctx context.Context, runID, token string, data []byte) (*IngestResult, error) {
	var out IngestResult
	err := c.do(ctx, http.MethodPost, "/ingest/runs/"+url.PathEscape(runID)+"/snapshots", token, "application/octet-stream", bytes.NewReader(data), &out)
	return &out, err
}

// PostEvent adds a line to a run's timeline.
func (c *Client) PostEvent(ctx context.Context, runID, token, kind, detail string) error {
	return c.PostShardEvent(ctx, runID, token, nil, kind, detail)
}

// PostShardEvent is PostEvent about shard who (nil: none named). A
// shard_finished event tells the server the shard stopped on purpose.
func (c *Client) PostShardEvent(ctx context.Context, runID, token string, who *ShardRef, kind, detail string) error {
	body := map[string]any{"kind": kind, "detail": detail}
	if who != nil {
		body["shard"], body["attempt"], body["worker"] = who.Shard, who.Attempt, who.Worker
	}
	return c.doJSON(ctx, http.MethodPost, "/ingest/runs/"+url.PathEscape(runID)+"/events", token, body, nil)
}

// PostShardEventData is PostShardEvent with the event's data (JSON): a
// response_sample's or slow_traces' (see reports.SampleEvent and
// reports.TracesEvent).
func (c *Client) PostShardEventData(ctx context.Context, runID, token string, who *ShardRef, kind, detail string, data any) error {
	body := map[string]any{"kind": kind, "detail": detail, "data": data}
	if who != nil {
		body["shard"], body["attempt"], body["worker"] = who.Shard, who.Attempt, who.Worker
	}
	return c.doJSON(ctx, http.MethodPost, "/ingest/runs/"+url.PathEscape(runID)+"/events", token, body, nil)
}

// ClaimRecords claims the next n records of a run's sequential feeder for
// shard who: their indexes [lo, hi), empty when none are left.
func (c *Client) ClaimRecords(ctx context.Context, runID, token string, who ShardRef, feeder string, n int) (lo, hi int, err error) {
	var out struct{ Lo, Hi int }
	body := map[string]any{"feeder": feeder, "shard": who.Shard, "attempt": who.Attempt, "worker": who.Worker, "n": n}
	err = c.doJSON(ctx, http.MethodPost, "/ingest/runs/"+url.PathEscape(runID)+"/records", token, body, &out)
	return out.Lo, out.Hi, err
}

// Heartbeat announces a worker (its capacity, and what it runs).
func (c *Client) Heartbeat(ctx context.Context, fleetToken string, b WorkerBeat) error {
	return c.doJSON(ctx, http.MethodPost, "/workers/heartbeat", fleetToken, b, nil)
}

// ShardStarted tells the server (and through it the run's workflow) that
// this worker took a shard.
func (c *Client) ShardStarted(ctx context.Context, runID, token string, st ShardState) error {
	return c.doJSON(ctx, http.MethodPost, "/ingest/runs/"+url.PathEscape(runID)+"/shards", token, st, nil)
}
