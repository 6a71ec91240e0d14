package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/barrage/barrage/internal/chrome"
	"github.com/barrage/barrage/internal/fold"
	"github.com/barrage/barrage/internal/service"
	"github.com/barrage/barrage/internal/store"
	"github.com/barrage/barrage/internal/wire"
	"github.com/barrage/barrage/reports"
)

// runJSON is a run as the API shows it (package wire: the client decodes
// the same type).
type runJSON = wire.Run

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
	out.ScheduleID = out.Tags[service.ScheduleTag]
	status, started := r.Shown(time.Now())
	out.Status = string(status)
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
	if s.cfg.GrafanaURL != "" {
		out.GrafanaURL = grafanaLink(s.cfg.GrafanaURL, r)
	}
	return out
}

func (s *Server) createRun(c *gin.Context) {
	var req wire.RunRequest
	if !bindJSON(c, &req) {
		return
	}
	r, err := s.runsvc.Start(c, req)
	if err != nil {
		failService(c, err, "run")
		return
	}
	s.audit(c, "run.create", r.ID, fmt.Sprintf("scenario %s v%d, target %s, %d workers", r.ScenarioID, r.ScenarioVersion, r.TargetBaseURL, r.WorkerCount))
	c.JSON(http.StatusCreated, s.toRunJSON(r))
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
	f := store.RunFilter{ScenarioID: c.Query("scenario_id"), Status: store.Status(c.Query("status")), Before: c.Query("before")}
	limit, _, ok := paging(c)
	if !ok {
		return
	}
	if f.Before != "" && !service.ValidID(f.Before) {
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
	if f.Status != "" && !store.ValidStatus(string(f.Status)) {
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
	rep, err := fold.BuildReport(c, s.cfg.Store, r.ID, nil)
	if err == nil && store.Finished(r.Status) && s.cfg.Exporter != nil {
		// Building it may have folded intervals again: the export
		// compares them all with what it pushed.
		s.cfg.Exporter.Finished(r.ID)
	}
	return rep, err
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
	by := s.who(c, req.By)
	if err := s.runsvc.Abort(c, r, by, req.Reason); err != nil {
		failService(c, err, "abort of run "+r.ID)
		return
	}
	s.audit(c, "run.abort", r.ID, req.Reason)
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
	if err := s.runsvc.Ramp(c, r, req.Target, req.OverSeconds, s.who(c, req.By)); err != nil {
		failService(c, err, "ramp of run "+r.ID)
		return
	}
	s.audit(c, "run.ramp", r.ID, fmt.Sprintf("target %g over %gs", *req.Target, req.OverSeconds))
	c.JSON(http.StatusAccepted, gin.H{"run_id": r.ID, "target": *req.Target})
}

// who names the requester in run events: the token's name. Without
// authentication nobody is known, and a client's own "by" is taken.
func (s *Server) who(c *gin.Context, claimed string) string {
	if s.cfg.NoAuth {
		return claimed
	}
	return actor(c)
}

// compareRuns answers GET /runs/compare: head's metrics against base's,
// and head's baseline thresholds evaluated against base.
func (s *Server) compareRuns(c *gin.Context) {
	var (
		runs [2]*store.Run
		reps [2]*reports.Report
	)
	names := []string{"base", "head"}
	for _, name := range names {
		id := c.Query(name)
		if id == "" {
			fail(c, http.StatusBadRequest, "missing_field", name, "%s is required: GET /runs/compare?base=RUN&head=RUN", name)
			return
		}
		if !service.ValidID(id) {
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
		runs[i] = r
	}
	out := reports.Compare(reps[0], reps[1])
	plan, err := fold.CompileRun(runs[1])
	if err != nil {
		failErr(c, err, "scenario of head run "+runs[1].ID)
		return
	}
	out.SetBaselineThresholds(reports.BaselineThresholds(plan, reps[1], reps[0]))
	c.JSON(http.StatusOK, out)
}

// grafanaLink is the barrage-run dashboard with r selected, over its time
// (a minute either side; to now while it runs).
func grafanaLink(base string, r *store.Run) string {
	v := url.Values{"var-run_id": {r.ID}, "orgId": {"1"}}
	if start := r.StartedAt; !start.IsZero() {
		v.Set("from", strconv.FormatInt(start.Add(-time.Minute).UnixMilli(), 10))
		if r.EndedAt.IsZero() {
			v.Set("to", "now")
		} else {
			v.Set("to", strconv.FormatInt(r.EndedAt.Add(time.Minute).UnixMilli(), 10))
		}
	}
	return strings.TrimSuffix(base, "/") + "/d/barrage-run/barrage-run?" + v.Encode()
}
