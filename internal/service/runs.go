// Package service holds the rules of starting and steering runs, between a
// front end (the HTTP API) and the orchestrator that runs them (Temporal,
// behind the Orchestrator port). It decides what a request means and
// whether it is acceptable; refusals are *Error values with a Kind, which
// the API turns into status codes. It imports neither Gin nor the Temporal
// SDK: package temporalport adapts a Temporal client to Orchestrator.
//
// Usage:
//
//  1. Build a Runs with the store and an Orchestrator
//     (temporalport.New(client) in a server; a fake in tests).
//  2. Start validates a wire.RunRequest into a stored, queued run and asks
//     the orchestrator to run it.
//  3. Abort, Ramp, ShardStarted and ShardSilent steer a run that exists.
package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/barrage/barrage/internal/fold"
	"github.com/barrage/barrage/internal/scenario"
	"github.com/barrage/barrage/internal/store"
	"github.com/barrage/barrage/internal/wire"
)

// MaxWorkers bounds a run's worker count.
const MaxWorkers = 1000

// ErrNoWorkflow is the orchestrator's answer about a run whose workflow
// does not exist (it never started, or its history was lost).
var ErrNoWorkflow = errors.New("the run's workflow does not exist")

// Orchestrator is what the service asks of the engine that runs runs.
type Orchestrator interface {
	// Start starts run r's workflow (ID r.WorkflowID).
	Start(ctx context.Context, r *store.Run) error
	// Abort asks the run to stop; failed ends it as failed rather than
	// aborted. ErrNoWorkflow when it has no workflow.
	Abort(ctx context.Context, r *store.Run, by, reason string, failed bool) error
	// Ramp moves the run's target load to target over over.
	Ramp(ctx context.Context, r *store.Run, target float64, over time.Duration, by string) error
	// ShardsStarted tells the run's workflow which workers took shards.
	ShardsStarted(ctx context.Context, workflowID string, states []wire.ShardState) error
	// ShardSilent tells the run that a running shard went silent.
	// ErrNoWorkflow when it has no workflow.
	ShardSilent(ctx context.Context, r *store.Run, shard int, worker, why string) error
}

// Runs starts and steers runs.
type Runs struct {
	store  store.Store
	orch   Orchestrator
	starts *shardStarts
	// Guard limits where runs may send load and how much; nil: no limits.
	Guard *Guard
	// Secrets gives runs the secrets they read; nil: no secrets.
	Secrets *Secrets
}

// NewRuns returns the run service over st and orch.
func NewRuns(st store.Store, orch Orchestrator) *Runs {
	return &Runs{store: st, orch: orch, starts: newShardStarts(orch.ShardsStarted)}
}

// Start validates req into a queued run, stores it and starts its workflow.
// It is the user's way in (POST /runs), so the tag a schedule gives its
// runs is refused here: a run that claims schedule=<id> would pass for one
// of the schedule's firings (its last run, its "previous" baseline).
// Schedules.Fire goes through start and sets it.
func (s *Runs) Start(ctx context.Context, req wire.RunRequest) (*store.Run, error) {
	if _, ok := req.Tags[ScheduleTag]; ok {
		return nil, refuse(Invalid, "invalid_field", "tags."+ScheduleTag,
			"the tag %q is reserved: a schedule gives it to the runs it starts (%s=<schedule id>); name your tag otherwise", ScheduleTag, ScheduleTag)
	}
	return s.start(ctx, req, NewID("run_"))
}

// start is Start with the run's ID (and workflow ID) given.
func (s *Runs) start(ctx context.Context, req wire.RunRequest, id string) (*store.Run, error) {
	r, err := s.newRun(ctx, req, id)
	if err != nil {
		return nil, err
	}
	if err := s.store.CreateRun(ctx, r); err != nil {
		return nil, err
	}
	if err := s.orch.Start(ctx, r); err != nil {
		_ = s.store.FinishRun(ctx, r.ID, store.StatusFailed, "could not start its workflow: "+err.Error(), time.Now())
		return nil, refuse(Unavailable, "temporal_unavailable", "", "start the run's workflow: %v", err)
	}
	return r, nil
}

// newRun validates a run request into a queued run.
func (s *Runs) newRun(ctx context.Context, req wire.RunRequest, id string) (*store.Run, error) {
	if req.ScenarioID == "" {
		// 400 as the OpenAPI document says: the request names no scenario at all.
		return nil, refuse(BadRequest, "missing_field", "scenario_id", "scenario_id is required")
	}
	if !ValidID(req.ScenarioID) {
		return nil, refuse(BadRequest, "bad_id", "scenario_id", "%q is not a valid ID", req.ScenarioID)
	}
	sc, err := s.store.GetScenario(ctx, req.ScenarioID, 0)
	if errors.Is(err, store.ErrNotFound) {
		return nil, refuse(NotFound, "not_found", "scenario_id", "scenario %s not found", req.ScenarioID)
	}
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	doc, plan, err := applyOverrides(sc.Document, req.Overrides, req.Env)
	if err != nil {
		return nil, err
	}
	if len(plan.MissingEnv) > 0 {
		k := plan.MissingEnv[0]
		return nil, refuse(Invalid, "env_not_set", "env."+k, "the scenario reads {{ env.%s }}, which is not set: give it in \"env\" (barrage run -e %s=VALUE) or as a default under env: in the scenario", k, k)
	}
	workers := req.WorkerCount
	if workers == 0 {
		workers = 1
	}
	if workers < 1 || workers > MaxWorkers {
		return nil, refuse(Invalid, "invalid_field", "worker_count", "worker_count must be 1..%d, got %d", MaxWorkers, req.WorkerCount)
	}
	if req.MaxWorkers != 0 && (req.MaxWorkers < workers || req.MaxWorkers > MaxWorkers) {
		return nil, refuse(Invalid, "invalid_field", "max_workers", "max_workers must be 0 (no cap) or worker_count (%d)..%d, got %d", workers, MaxWorkers, req.MaxWorkers)
	}
	if err := checkTarget(req.TargetBaseURL, plan); err != nil {
		return nil, err
	}
	if err := s.Guard.checkCaps(plan); err != nil {
		return nil, err
	}
	if err := s.Guard.checkTargets(ctx, req.TargetBaseURL, plan); err != nil {
		return nil, err
	}
	if s.Secrets == nil && len(plan.Secrets) > 0 {
		return nil, refuse(Invalid, "no_secret_key", "", "this server keeps no secrets: start it with --secret-key-file")
	}
	if s.Secrets != nil {
		if err := s.Secrets.Check(ctx, plan); err != nil {
			return nil, err
		}
	}
	for k := range req.Tags {
		if k == "" || strings.ContainsAny(k, "=,") {
			return nil, refuse(Invalid, "invalid_field", "tags", "tag name %q must be non-empty without = or ,", k)
		}
	}
	baseline, err := s.resolveBaseline(ctx, req)
	if err != nil {
		return nil, err
	}
	return &store.Run{BaselineRunID: baseline, Elastic: req.Elastic == nil || *req.Elastic, MaxWorkers: req.MaxWorkers,
		ID: id, ScenarioID: sc.ID, ScenarioVersion: sc.Version, Scenario: doc, Overrides: req.Overrides,
		Status: store.StatusQueued, TargetBaseURL: strings.TrimSuffix(req.TargetBaseURL, "/"), WorkerCount: workers,
		Tags: req.Tags, WorkflowID: id, Token: newToken(), IntervalMS: fold.DefaultIntervalMS, CreatedAt: time.Now(),
	}, nil
}

// resolveBaseline finds the run a new run is compared with ("" for none).
func (s *Runs) resolveBaseline(ctx context.Context, req wire.RunRequest) (string, error) {
	switch {
	case req.Baseline != "" && req.BaselineRunID != "":
		return "", refuse(Invalid, "invalid_field", "baseline", "give baseline (a tag) or baseline_run_id, not both")
	case req.BaselineRunID != "":
		if !ValidID(req.BaselineRunID) {
			return "", refuse(BadRequest, "bad_id", "baseline_run_id", "%q is not a valid ID", req.BaselineRunID)
		}
		if _, err := s.store.GetRun(ctx, req.BaselineRunID); err != nil {
			return "", refuse(NotFound, "not_found", "baseline_run_id", "baseline run %s not found", req.BaselineRunID)
		}
		return req.BaselineRunID, nil
	case req.Baseline != "":
		k, v, found := strings.Cut(req.Baseline, "=")
		if !found || k == "" {
			return "", refuse(Invalid, "invalid_field", "baseline", "baseline must be a tag key=value, got %q", req.Baseline)
		}
		r, err := s.store.LatestRunWithTag(ctx, k, v)
		if err != nil {
			return "", refuse(NotFound, "not_found", "baseline", "no finished run is tagged %s", req.Baseline)
		}
		return r.ID, nil
	}
	return "", nil
}

// seedLoad are the top-level fields that describe the load without a load block.
var seedLoad = []string{"virtual_users", "rate_per_second", "duration_seconds", "ramp_up_seconds"}

// applyOverrides merges a JSON object of top-level fields into the scenario
// document. Giving virtual_users drops rate_per_second and the load block
// (and the other way round), so that an override can switch models. The
// run's env is merged key by key over the scenario's (and the overrides').
// Giving iterations drops iterations_per_vu (and the other way round).
func applyOverrides(doc, overrides json.RawMessage, env map[string]string) ([]byte, *scenario.Plan, error) {
	var base map[string]json.RawMessage
	if err := json.Unmarshal(doc, &base); err != nil {
		return nil, nil, fmt.Errorf("stored scenario: %w", err)
	}

	if len(overrides) > 0 && string(overrides) != "null" {
		var over map[string]json.RawMessage
		if err := json.Unmarshal(overrides, &over); err != nil {
			return nil, nil, refuse(BadRequest, "malformed_json", "overrides", "overrides must be a JSON object of scenario fields: %v", err)
		}
		if _, ok := over["virtual_users"]; ok {
			delete(base, "rate_per_second")
			delete(base, "load")
		}
		if _, ok := over["rate_per_second"]; ok {
			delete(base, "virtual_users")
			delete(base, "load")
		}
		// One kind of iterations at a time, as --iterations.
		if _, ok := over["iterations"]; ok {
			delete(base, "iterations_per_vu")
		}
		if _, ok := over["iterations_per_vu"]; ok {
			delete(base, "iterations")
		}
		if _, ok := over["load"]; ok {
			for _, f := range seedLoad {
				delete(base, f)
			}
		}
		for k, v := range over {
			base[k] = v
		}
	}
	if err := mergeEnv(base, env); err != nil {
		return nil, nil, err
	}
	merged, _ := json.Marshal(base)
	sc, err := scenario.ParseJSON(merged)
	if err != nil {
		if es, ok := scenario.AsErrors(err); ok && len(es) > 0 {
			return nil, nil, refuse(Invalid, "invalid_overrides", "overrides."+es[0].Path, "the scenario with these overrides is invalid: %v", err)
		}
		return nil, nil, refuse(Invalid, "invalid_overrides", "overrides", "%v", err)
	}
	plan, _ := scenario.Compile(sc)
	canonical, _ := sc.JSON()
	return canonical, plan, nil
}

// mergeEnv sets the run's env values over the document's env.
func mergeEnv(base map[string]json.RawMessage, env map[string]string) error {
	if len(env) == 0 {
		return nil
	}
	all := map[string]string{}
	if raw, ok := base["env"]; ok {
		if err := json.Unmarshal(raw, &all); err != nil {
			return refuse(Invalid, "invalid_field", "env", "the scenario's env must map names to strings: %v", err)
		}
	}
	for k, v := range env {
		if !scenario.ValidEnvKey(k) {
			return refuse(Invalid, "invalid_field", "env."+k, "%q is not a valid env name (letters, digits and _, at most 128, not starting with a digit)", k)
		}
		all[k] = v
	}
	base["env"], _ = json.Marshal(all)
	return nil
}

// checkTarget requires a base URL when a step's URL is a path, and checks it.
func checkTarget(target string, plan *scenario.Plan) error {
	relative := false
	for _, st := range plan.Steps {
		src := strings.ToLower(st.URL.Source())
		if !strings.HasPrefix(src, "http://") && !strings.HasPrefix(src, "https://") && !strings.HasPrefix(src, "{{") {
			relative = true
		}
	}
	if target == "" {
		if relative {
			return refuse(Invalid, "missing_field", "target_base_url", "target_base_url is required: the scenario's steps have paths, not absolute URLs")
		}
		return nil
	}
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return refuse(Invalid, "invalid_field", "target_base_url", "target_base_url %q must be an http(s) URL without a query", target)
	}
	return nil
}
