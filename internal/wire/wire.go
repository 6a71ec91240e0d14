// Package wire holds the JSON shapes that cross Barrage's HTTP API: what
// the server answers and the typed client (api/client) decodes, and what a
// run's workflow publishes for its shards (Control). It is a leaf: both
// sides import it, so the client needs neither Gin nor the Temporal SDK, and
// the two sides cannot drift apart.
package wire

import (
	"encoding/json"
	"time"

	"github.com/barrage/barrage/internal/profile"
)

// APIError is what every error answer of the API holds, as
// {"error": APIError}: a stable code, a message for people, and the
// request field at fault, if one is.
type APIError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// ScenarioRef is the answer to storing a scenario.
type ScenarioRef struct {
	ScenarioID string `json:"scenario_id"`
	Version    int    `json:"version"`
	Name       string `json:"name"`
}

// ScenarioInfo is a stored scenario as listed.
type ScenarioInfo struct {
	ScenarioID string          `json:"scenario_id"`
	Version    int             `json:"version"`
	Name       string          `json:"name"`
	CreatedAt  time.Time       `json:"created_at"`
	Scenario   json.RawMessage `json:"scenario,omitempty"`
}

// RunRequest starts a run.
type RunRequest struct {
	ScenarioID    string          `json:"scenario_id"`
	TargetBaseURL string          `json:"target_base_url,omitempty"`
	WorkerCount   int             `json:"worker_count,omitempty"`
	Overrides     json.RawMessage `json:"overrides,omitempty"`
	// Env sets the run's {{ env.KEY }} values, over the scenario's env.
	Env           map[string]string `json:"env,omitempty"`
	Tags          map[string]string `json:"tags,omitempty"`
	Baseline      string            `json:"baseline,omitempty"` // tag key=value of the run to compare with
	BaselineRunID string            `json:"baseline_run_id,omitempty"`
	// Elastic: take workers that join during the run (nil: the server's
	// default, yes); MaxWorkers caps the shards it runs at once (0: none).
	Elastic    *bool `json:"elastic,omitempty"`
	MaxWorkers int   `json:"max_workers,omitempty"`
}

// Run is a run as the API shows it.
type Run struct {
	RunID              string            `json:"run_id"`
	ScenarioID         string            `json:"scenario_id"`
	ScenarioVersion    int               `json:"scenario_version"`
	Status             string            `json:"status"`
	TargetBaseURL      string            `json:"target_base_url"`
	WorkerCount        int               `json:"worker_count"`
	Tags               map[string]string `json:"tags"`
	Reason             string            `json:"reason,omitempty"`
	CreatedAt          time.Time         `json:"created_at"`
	StartedAt          *time.Time        `json:"started_at,omitempty"`
	EndedAt            *time.Time        `json:"ended_at,omitempty"`
	TemporalWorkflowID string            `json:"temporal_workflow_id"`
	TemporalUIURL      string            `json:"temporal_ui_url,omitempty"`
	// GrafanaURL links to the run's dashboard (server --grafana-url).
	GrafanaURL    string `json:"grafana_url,omitempty"`
	BaselineRunID string `json:"baseline_run_id,omitempty"`
	Elastic       bool   `json:"elastic"`
	MaxWorkers    int    `json:"max_workers"`
	// ScenarioName is the scenario's name as run.
	ScenarioName string `json:"scenario_name,omitempty"`
	// Summary is what the run measured: its report's figures when it is
	// finished, its latest interval's while it runs; absent before any.
	Summary *RunSummary `json:"summary,omitempty"`
	// ScheduleID is the schedule whose firing started the run (its tag
	// schedule); ThresholdsFailed says the run finished and failed its
	// thresholds (baseline thresholds included), as Summary's verdict.
	ScheduleID       string `json:"schedule_id,omitempty"`
	ThresholdsFailed bool   `json:"thresholds_failed,omitempty"`
}

// RunSummary is a run's headline figures.
type RunSummary struct {
	Requests  uint64  `json:"requests"`
	RPS       float64 `json:"rps"`
	P95MS     float64 `json:"p95_ms"`
	ErrorRate float64 `json:"error_rate"`
	// ThresholdsPassed is the thresholds' verdict (absent: none, or not
	// evaluated yet).
	ThresholdsPassed *bool `json:"thresholds_passed,omitempty"`
}

// RunSpec is what a worker needs to run a shard.
type RunSpec struct {
	RunID         string          `json:"run_id"`
	Scenario      json.RawMessage `json:"scenario"`
	TargetBaseURL string          `json:"target_base_url"`
	Shards        int             `json:"shards"`
	IntervalMS    int             `json:"interval_ms"`
	Epoch         time.Time       `json:"epoch"`
	// TargetPolicy is where the run's load may go; absent: anywhere (a
	// server without a policy, such as the embedded `barrage run`).
	TargetPolicy *TargetPolicy `json:"target_policy,omitempty"`
}

// TargetPolicy lists the allowed targets as `barrage server --allow-target`
// takes them; an empty list allows nothing. Each worker enforces it when it
// connects, narrowed by its own --allow-target.
type TargetPolicy struct {
	Allow []string `json:"allow"`
}

// ShardRef names the shard a load activity runs, in the requests it makes:
// the server watches each shard's requests to notice one gone silent.
type ShardRef struct {
	Shard   int
	Attempt int
	Worker  string
}

// IngestResult is the answer to a snapshot.
type IngestResult struct {
	Inserted bool  `json:"inserted"`
	Interval int64 `json:"interval"`
}

// WorkerBeat is a worker's announcement of itself.
type WorkerBeat struct {
	ID     string `json:"id"`
	MaxVUs int    `json:"max_vus"`
	MaxRPS int    `json:"max_rps"`
	Host   string `json:"host"`
	RunID  string `json:"run_id,omitempty"`
	Shard  int    `json:"shard"`
}

// ShardState is a shard's start as a worker reports it.
type ShardState struct {
	Shard   int    `json:"shard"`
	Attempt int    `json:"attempt"`
	Worker  string `json:"worker"`
	MaxVUs  int    `json:"max_vus"`
	MaxRPS  int    `json:"max_rps"`
	Detail  string `json:"detail,omitempty"`
}

// Control is what every shard of a run follows: the global profile, each
// shard's fraction of it, and whether to stop. Version increases with every
// change; workers poll it from the server.
type Control struct {
	RunID     string
	Version   int
	Profile   profile.Profile
	Fractions []float64
	Aborted   bool
	Reason    string
	// Served is the fraction of the asked load the fleet carries (below 1
	// when capacity is exhausted).
	Served float64
	// IterationsDone: the run's shared iterations are all claimed; a
	// shard ends its load once it started those it holds.
	IterationsDone bool `json:",omitempty"`
}
