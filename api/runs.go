package api

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"
	sdkclient "go.temporal.io/sdk/client"

	"github.com/barrage/barrage/activities"
	"github.com/barrage/barrage/api/client"
	"github.com/barrage/barrage/internal/chrome"
	"github.com/barrage/barrage/internal/fold"
	"github.com/barrage/barrage/internal/profile"
	"github.com/barrage/barrage/internal/scenario"
	"github.com/barrage/barrage/internal/store"
	"github.com/barrage/barrage/reports"
	"github.com/barrage/barrage/workflows"
)

// MaxWorkers bounds a run's worker count.
const MaxWorkers = 1000

type runRequest struct {
	ScenarioID    string            `json:"scenario_id"`
	TargetBaseURL string            `json:"target_base_url"`
	WorkerCount   int               `json:"worker_count"`
	Overrides     json.RawMessage   `json:"overrides"`
	Tags          map[string]string `json:"tags"`
	// Baseline names the run to compare with by tag: the newest finished
	// run tagged key=value. BaselineRunID names it directly.
	Baseline      string `json:"baseline"`
	BaselineRunID string `json:"baseline_run_id"`
	// Elastic runs take every idle worker that joins, beyond worker_count,
	// up to MaxWorkers shards (0: no cap). Runs are elastic unless this is
	// false.
	Elastic    *bool `json:"elastic"`
	MaxWorkers int   `json:"max_workers"`
}

// runJSON is a run as the API shows it: the client's type, so that the two
// cannot drift apart.
type runJSON = client.Run

func (s *Server) toRunJSON(r *store.Run) runJSON {
	out := runJSON{
		RunID: r.ID, ScenarioID: r.ScenarioID, ScenarioVersion: r.ScenarioVersion,
		TargetBaseURL: r.TargetBaseURL, WorkerCount: r.WorkerCount, Tags: r.Tags, Reason: r.Reason,
		CreatedAt: r.CreatedAt.UTC(), TemporalWorkflowID: r.WorkflowID, BaselineRunID: r.BaselineRunID, Elastic: r.Elastic,
		MaxWorkers: r.MaxWorkers,
	}
	if out.Tags == nil {
		out.Tags = map[string]string{}
	}
	status, started := r.Shown(time.Now())
	out.Status = status
	if !started.IsZero() {
		t := started.UTC()
		out.StartedAt = &t
	}
	if !r.EndedAt.IsZero() {
		t := r.EndedAt.UTC()
		out.EndedAt = &t
	}
	if s.cfg.TemporalUI != "" {
		out.TemporalUIURL = fmt.Sprintf("%s/namespaces/%s/workflows/%s", strings.TrimSuffix(s.cfg.TemporalUI, "/"),
			url.PathEscape(s.cfg.Namespace), url.PathEscape(r.WorkflowID))
	}
	return out
}

func (s *Server) createRun(c *gin.Context) {
	var req runRequest
	if !bindJSON(c, &req) {
		return
	}
	r, ok := s.newRun(c, req)
	if !ok {
		return
	}
	if err := s.cfg.Store.CreateRun(c, r); err != nil {
		failErr(c, err, "run")
		return
	}
	opts := sdkclient.StartWorkflowOptions{ID: r.WorkflowID, TaskQueue: workflows.ControlQueue}
	if _, err := s.cfg.Temporal.ExecuteWorkflow(c, opts, workflows.Run, workflows.RunInput{RunID: r.ID}); err != nil {
		_ = s.cfg.Store.FinishRun(c, r.ID, store.StatusFailed, "could not start its workflow: "+err.Error(), time.Now())
		fail(c, http.StatusServiceUnavailable, "temporal_unavailable", "", "start the run's workflow: %v", err)
		return
	}
	c.JSON(http.StatusCreated, s.toRunJSON(r))
}

// newRun validates a run request into a queued run.
func (s *Server) newRun(c *gin.Context, req runRequest) (*store.Run, bool) {
	if req.ScenarioID == "" {
		// 400 as the OpenAPI document says: the request names no scenario at all.
		fail(c, http.StatusBadRequest, "missing_field", "scenario_id", "scenario_id is required")
		return nil, false
	}
	if !validID.MatchString(req.ScenarioID) {
		fail(c, http.StatusBadRequest, "bad_id", "scenario_id", "%q is not a valid ID", req.ScenarioID)
		return nil, false
	}
	sc, err := s.cfg.Store.GetScenario(c, req.ScenarioID, 0)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			fail(c, http.StatusNotFound, "not_found", "scenario_id", "scenario %s not found", req.ScenarioID)
		} else {
			failErr(c, err, "scenario")
		}
		return nil, false
	}
	doc, plan, ok := applyOverrides(c, sc.Document, req.Overrides)
	if !ok {
		return nil, false
	}
	workers := req.WorkerCount
	if workers == 0 {
		workers = 1
	}
	if workers < 1 || workers > MaxWorkers {
		fail(c, http.StatusUnprocessableEntity, "invalid_field", "worker_count", "worker_count must be 1..%d, got %d", MaxWorkers, req.WorkerCount)
		return nil, false
	}
	elastic := req.Elastic == nil || *req.Elastic
	if req.MaxWorkers != 0 && (req.MaxWorkers < workers || req.MaxWorkers > MaxWorkers) {
		fail(c, http.StatusUnprocessableEntity, "invalid_field", "max_workers", "max_workers must be 0 (no cap) or worker_count (%d)..%d, got %d", workers, MaxWorkers, req.MaxWorkers)
		return nil, false
	}
	if !checkTarget(c, req.TargetBaseURL, plan) {
		return nil, false
	}
	for k := range req.Tags {
		if k == "" || strings.ContainsAny(k, "=,") {
			fail(c, http.StatusUnprocessableEntity, "invalid_field", "tags", "tag name %q must be non-empty without = or ,", k)
			return nil, false
		}
	}
	baseline, ok := s.resolveBaseline(c, req)
	if !ok {
		return nil, false
	}
	id := newID("run_")
	return &store.Run{BaselineRunID: baseline, Elastic: elastic, MaxWorkers: req.MaxWorkers,
		ID: id, ScenarioID: sc.ID, ScenarioVersion: sc.Version, Scenario: doc, Overrides: req.Overrides,
		Status: store.StatusQueued, TargetBaseURL: strings.TrimSuffix(req.TargetBaseURL, "/"), WorkerCount: workers,
		Tags: req.Tags, WorkflowID: id, Token: newToken(), IntervalMS: activities.DefaultIntervalMS, CreatedAt: time.Now(),
	}, true
}

// resolveBaseline finds the run a new run is compared with.
func (s *Server) resolveBaseline(c *gin.Context, req runRequest) (string, bool) {
	switch {
	case req.Baseline != "" && req.BaselineRunID != "":
		fail(c, http.StatusUnprocessableEntity, "invalid_field", "baseline", "give baseline (a tag) or baseline_run_id, not both")
		return "", false
	case req.BaselineRunID != "":
		if !validID.MatchString(req.BaselineRunID) {
			fail(c, http.StatusBadRequest, "bad_id", "baseline_run_id", "%q is not a valid ID", req.BaselineRunID)
			return "", false
		}
		if _, err := s.cfg.Store.GetRun(c, req.BaselineRunID); err != nil {
			fail(c, http.StatusNotFound, "not_found", "baseline_run_id", "baseline run %s not found", req.BaselineRunID)
			return "", false
		}
		return req.BaselineRunID, true
	case req.Baseline != "":
		k, v, found := strings.Cut(req.Baseline, "=")
		if !found || k == "" {
			fail(c, http.StatusUnprocessableEntity, "invalid_field", "baseline", "baseline must be a tag key=value, got %q", req.Baseline)
			return "", false
		}
		r, err := s.cfg.Store.LatestRunWithTag(c, k, v)
		if err != nil {
			fail(c, http.StatusNotFound, "not_found", "baseline", "no finished run is tagged %s", req.Baseline)
			return "", false
		}
		return r.ID, true
	}
	return "", true
}

func newToken() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// seedLoad are the top-level fields that describe the load without a load block.
var seedLoad = []string{"virtual_users", "rate_per_second", "duration_seconds", "ramp_up_seconds"}

// applyOverrides merges a JSON object of top-level fields into the scenario
// document. Giving virtual_users drops rate_per_second and the load block
// (and the other way round), so that an override can switch models.
func applyOverrides(c *gin.Context, doc, overrides json.RawMessage) ([]byte, *scenario.Plan, bool) {
	var base map[string]json.RawMessage
	if err := json.Unmarshal(doc, &base); err != nil {
		failErr(c, err, "stored scenario")
		return nil, nil, false
	}
	if len(overrides) > 0 && string(overrides) != "null" {
		var over map[string]json.RawMessage
		if err := json.Unmarshal(overrides, &over); err != nil {
			fail(c, http.StatusBadRequest, "malformed_json", "overrides", "overrides must be a JSON object of scenario fields: %v", err)
			return nil, nil, false
		}
		if _, ok := over["virtual_users"]; ok {
			delete(base, "rate_per_second")
			delete(base, "load")
		}
		if _, ok := over["rate_per_second"]; ok {
			delete(base, "virtual_users")
			delete(base, "load")
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
	merged, _ := json.Marshal(base)
	sc, err := scenario.ParseJSON(merged)
	if err != nil {
		if es, ok := scenario.AsErrors(err); ok && len(es) > 0 {
			fail(c, http.StatusUnprocessableEntity, "invalid_overrides", "overrides."+es[0].Path, "the scenario with these overrides is invalid: %v", err)
		} else {
			fail(c, http.StatusUnprocessableEntity, "invalid_overrides", "overrides", "%v", err)
		}
		return nil, nil, false
	}
	plan, _ := scenario.Compile(sc)
	canonical, _ := sc.JSON()
	return canonical, plan, true
}

// checkTarget requires a base URL when a step's URL is a path, and checks it.
func checkTarget(c *gin.Context, target string, plan *scenario.Plan) bool {
	relative := false
	for _, st := range plan.Steps {
		src := strings.ToLower(st.URL.Source())
		if !strings.HasPrefix(src, "http://") && !strings.HasPrefix(src, "https://") && !strings.HasPrefix(src, "{{") {
			relative = true
		}
	}
	if target == "" {
		if relative {
			fail(c, http.StatusUnprocessableEntity, "missing_field", "target_base_url", "target_base_url is required: the scenario's steps have paths, not absolute URLs")
			return false
		}
		return true
	}
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		fail(c, http.StatusUnprocessableEntity, "invalid_field", "target_base_url", "target_base_url %q must be an http(s) URL without a query", target)
		return false
	}
	return true
}

func (s *Server) getRun(c *gin.Context) {
	r, ok := s.loadRun(c)
	if !ok {
		return
	}
	out := s.toRunJSON(r)
	s.withSummary(c, r, &out)
	c.JSON(http.StatusOK, out)
}

func (s *Server) loadRun(c *gin.Context) (*store.Run, bool) {
	id, ok := pathID(c)
	if !ok {
		return nil, false
	}
	r, err := s.cfg.Store.GetRun(c, id)
	if err != nil {
		failErr(c, err, "run "+id)
		return nil, false
	}
	return r, true
}

func (s *Server) listRuns(c *gin.Context) {
	f := store.RunFilter{ScenarioID: c.Query("scenario_id"), Status: c.Query("status"), Before: c.Query("before")}
	limit, _, ok := paging(c)
	if !ok {
		return
	}
	if f.Before != "" && !validID.MatchString(f.Before) {
		fail(c, http.StatusBadRequest, "bad_query", "before", "before must be a run ID, got %q", f.Before)
		return
	}
	f.Limit = limit
	if tag := c.Query("tag"); tag != "" {
		k, v, found := strings.Cut(tag, "=")
		if !found || k == "" {
			fail(c, http.StatusBadRequest, "bad_query", "tag", "tag must be key=value, got %q", tag)
			return
		}
		f.TagKey, f.TagValue = k, v
	}
	if f.Status != "" && !store.ValidStatus(f.Status) {
		fail(c, http.StatusBadRequest, "bad_query", "status", "status must be queued, running, completed, failed or aborted, got %q", f.Status)
		return
	}
	runs, err := s.cfg.Store.ListRuns(c, f)
	if err != nil {
		failErr(c, err, "runs")
		return
	}
	out := make([]runJSON, len(runs))
	for i := range runs {
		out[i] = s.toRunJSON(&runs[i])
		s.withSummary(c, &runs[i], &out[i])
	}
	next := ""
	if len(runs) == f.Limit {
		next = runs[len(runs)-1].ID
	}
	c.JSON(http.StatusOK, gin.H{"runs": out, "next": next})
}

func (s *Server) getReport(c *gin.Context) {
	r, ok := s.loadRun(c)
	if !ok {
		return
	}
	format := c.DefaultQuery("format", "json")
	switch format {
	case "json", "junit", "html", "pdf":
	default:
		fail(c, http.StatusBadRequest, "bad_query", "format", "format must be json, junit, html or pdf, got %q", format)
		return
	}
	if format == "pdf" {
		// Before building anything: without a Chromium there is no PDF.
		if _, err := chrome.Find(); err != nil {
			fail(c, http.StatusNotImplemented, "pdf_unavailable", "format", "PDF reports need a headless Chromium on the server: %v", err)
			return
		}
	}
	if format == "json" && s.cfg.TemporalUI == "" && store.Finished(r.Status) {
		// A finished run's stored report is served as stored: a 1-hour
		// run's is megabytes, and decoding it to encode it again costs
		// more than sending it.
		if b, err := s.cfg.Store.GetReport(c, r.ID); err == nil && json.Valid(b) {
			c.Data(http.StatusOK, "application/json; charset=utf-8", b)
			return
		}
	}
	rep, err := s.report(c, r)
	if err != nil {
		failErr(c, err, "report of run "+r.ID)
		return
	}
	rep.TemporalUIURL = s.toRunJSON(r).TemporalUIURL
	switch format {
	case "junit":
		b, err := reports.JUnit(rep)
		if err != nil {
			failErr(c, err, "junit report")
			return
		}
		c.Data(http.StatusOK, "application/xml; charset=utf-8", b)
	case "html", "pdf":
		doc, err := reports.HTML(rep, s.baselineReport(c, r))
		if err != nil {
			failErr(c, err, "html report")
			return
		}
		if format == "html" {
			c.Data(http.StatusOK, "text/html; charset=utf-8", doc)
			return
		}
		// Each print is a Chromium of its own: a few at a time.
		select {
		case s.pdfSlots <- struct{}{}:
			defer func() { <-s.pdfSlots }()
		default:
			c.Header("Retry-After", "5")
			fail(c, http.StatusServiceUnavailable, "pdf_busy", "", "%d PDF reports are being printed; try again in a few seconds", cap(s.pdfSlots))
			return
		}
		b, err := chrome.PrintPDF(c, doc)
		if err != nil {
			fail(c, http.StatusInternalServerError, "pdf_failed", "", "%v", err)
			return
		}
		c.Header("Content-Disposition", `inline; filename="`+r.ID+`.pdf"`)
		c.Data(http.StatusOK, "application/pdf", b)
	default:
		c.JSON(http.StatusOK, rep)
	}
}

// baselineReport is the stored report of the run's baseline (nil: none).
func (s *Server) baselineReport(c *gin.Context, r *store.Run) *reports.Report {
	if r.BaselineRunID == "" {
		return nil
	}
	b, err := s.cfg.Store.GetReport(c, r.BaselineRunID)
	if err != nil {
		return nil
	}
	base, _ := reports.Parse(b)
	return base
}

// report returns the stored report of a finished run, or builds the report so far.
func (s *Server) report(c *gin.Context, r *store.Run) (*reports.Report, error) {
	if store.Finished(r.Status) {
		if b, err := s.cfg.Store.GetReport(c, r.ID); err == nil {
			var rep reports.Report
			if err := json.Unmarshal(b, &rep); err == nil {
				return &rep, nil
			}
		}
	}
	return fold.BuildReport(c, s.cfg.Store, r.ID, nil)
}

// runEvents lists what happened during a run so far, in order; t is
// seconds since the run's epoch (its creation while it is queued), as in
// the report.
func (s *Server) runEvents(c *gin.Context) {
	r, ok := s.loadRun(c)
	if !ok {
		return
	}
	events, err := s.cfg.Store.ListEvents(c, r.ID)
	if err != nil {
		failErr(c, err, "events of run "+r.ID)
		return
	}
	zero := r.Epoch
	if zero.IsZero() {
		zero = r.CreatedAt
	}
	out := make([]reports.Event, len(events))
	for i, e := range events {
		out[i] = reports.Event{T: math.Round(e.At.Sub(zero).Seconds()*1000) / 1000, Kind: e.Kind, Detail: e.Detail}
	}
	c.JSON(http.StatusOK, gin.H{"events": out})
}

type abortRequest struct {
	By     string `json:"by"`
	Reason string `json:"reason"`
}

func (s *Server) abortRun(c *gin.Context) {
	r, ok := s.loadRun(c)
	if !ok {
		return
	}
	var req abortRequest
	if c.Request.ContentLength != 0 && !bindJSON(c, &req) {
		return
	}
	if store.Finished(r.Status) {
		fail(c, http.StatusConflict, "finished", "", "run %s is already %s", r.ID, r.Status)
		return
	}
	if req.By == "" {
		req.By = "api"
	}
	sig := workflows.AbortSignal{By: req.By, Reason: req.Reason}
	err := s.cfg.Temporal.SignalWorkflow(c, r.WorkflowID, "", workflows.SignalAbort, sig)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		// The workflow is gone (it never started, or its history was lost):
		// nothing runs the load any more, so end the run here.
		_ = s.cfg.Store.FinishRun(c, r.ID, store.StatusAborted, "aborted by "+req.By+" (no workflow)", time.Now())
		err = nil
	}
	if err != nil {
		fail(c, http.StatusServiceUnavailable, "temporal_unavailable", "", "signal abort: %v", err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"run_id": r.ID, "status": "aborting"})
}

type rampRequest struct {
	Target      *float64 `json:"target"`
	OverSeconds float64  `json:"over_seconds"`
	By          string   `json:"by"`
}

func (s *Server) rampRun(c *gin.Context) {
	r, ok := s.loadRun(c)
	if !ok {
		return
	}
	var req rampRequest
	if !bindJSON(c, &req) {
		return
	}
	if req.Target == nil || *req.Target < 0 {
		fail(c, http.StatusUnprocessableEntity, "invalid_field", "target", "target must be a number >= 0 (VUs, or iterations/s in the open model)")
		return
	}
	if req.OverSeconds < 0 || req.OverSeconds > 3600 {
		fail(c, http.StatusUnprocessableEntity, "invalid_field", "over_seconds", "over_seconds must be 0..3600")
		return
	}
	if store.Finished(r.Status) {
		fail(c, http.StatusConflict, "finished", "", "run %s is already %s", r.ID, r.Status)
		return
	}
	if plan, err := fold.CompileRun(r); err == nil && plan.MaxVUs > 0 && plan.Profile.Model == profile.Closed && *req.Target > float64(plan.MaxVUs) {
		fail(c, http.StatusUnprocessableEntity, "invalid_field", "target", "target %g is above the scenario's max_vus (%d)", *req.Target, plan.MaxVUs)
		return
	}
	if *req.Target > profile.MaxVUs {
		fail(c, http.StatusUnprocessableEntity, "invalid_field", "target", "target %g is above the limit of %d", *req.Target, profile.MaxVUs)
		return
	}
	sig := workflows.RampSignal{Target: *req.Target, Over: time.Duration(req.OverSeconds * float64(time.Second)), By: req.By}
	if err := s.cfg.Temporal.SignalWorkflow(c, r.WorkflowID, "", workflows.SignalRamp, sig); err != nil {
		fail(c, http.StatusServiceUnavailable, "temporal_unavailable", "", "signal ramp: %v", err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"run_id": r.ID, "target": *req.Target})
}

func (s *Server) compareRuns(c *gin.Context) {
	var reps [2]*reports.Report
	names := []string{"base", "head"}
	for _, name := range names {
		id := c.Query(name)
		if id == "" {
			fail(c, http.StatusBadRequest, "missing_field", name, "%s is required: GET /runs/compare?base=RUN&head=RUN", name)
			return
		}
		if !validID.MatchString(id) {
			fail(c, http.StatusBadRequest, "bad_id", name, "%q is not a valid ID", id)
			return
		}
	}
	for i, name := range names {
		id := c.Query(name)
		r, err := s.cfg.Store.GetRun(c, id)
		if errors.Is(err, store.ErrNotFound) {
			fail(c, http.StatusNotFound, "not_found", name, "%s run %s not found", name, id)
			return
		}
		if err != nil {
			failErr(c, err, name+" run "+id)
			return
		}
		if reps[i], err = s.report(c, r); err != nil {
			failErr(c, err, "report of run "+id)
			return
		}
	}
	c.JSON(http.StatusOK, reports.Compare(reps[0], reps[1]))
}
