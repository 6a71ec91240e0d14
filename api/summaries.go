package api

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/barrage/barrage/internal/fold"
	"github.com/barrage/barrage/internal/store"
	"github.com/barrage/barrage/internal/wire"
	"github.com/barrage/barrage/reports"
)

// summaryCacheSize bounds the finished runs' summaries kept in memory.
const summaryCacheSize = 4096

// summaries keeps what a runs list shows of each run that does not change:
// the scenario's name as run, and a finished run's summary, read once from
// its stored report. A list polled every 2 s parses neither again.
type summaries struct {
	mu    sync.Mutex
	names map[string]string
	m     map[string]*wire.RunSummary
}

// reportHead is the part of report.json a summary reads.
type reportHead struct {
	Totals     reports.Totals            `json:"totals"`
	LatencyMS  reports.Latency           `json:"latency_ms"`
	Thresholds []reports.ThresholdResult `json:"thresholds"`
}

// withSummary adds the run's scenario name and its summary to its JSON.
// A summary that cannot be read leaves it out: the run is still shown.
func (s *Server) withSummary(ctx context.Context, r *store.Run, out *runJSON) {
	out.ScenarioName = s.scenarioName(r)
	if store.Finished(r.Status) {
		out.Summary = s.finishedSummary(ctx, r.ID)
		out.ThresholdsFailed = out.Summary != nil && out.Summary.ThresholdsPassed != nil && !*out.Summary.ThresholdsPassed
		return
	}
	if r.Status == store.StatusRunning && !r.Epoch.IsZero() {
		out.Summary = s.liveSummary(ctx, r)
	}
}

// scenarioName is the name in the run's scenario document (which may carry
// megabytes of inline feeder records: it is parsed once per run).
func (s *Server) scenarioName(r *store.Run) string {
	s.summaries.mu.Lock()
	name, ok := s.summaries.names[r.ID]
	s.summaries.mu.Unlock()
	if ok {
		return name
	}
	var doc struct {
		Name string `json:"name"`
	}
	_ = json.Unmarshal(r.Scenario, &doc) // a stored run's document parses
	s.summaries.mu.Lock()
	if len(s.summaries.names) >= summaryCacheSize {
		clear(s.summaries.names)
	}
	s.summaries.names[r.ID] = doc.Name
	s.summaries.mu.Unlock()
	return doc.Name
}

func (s *Server) finishedSummary(ctx context.Context, id string) *wire.RunSummary {
	s.summaries.mu.Lock()
	sum, ok := s.summaries.m[id]
	s.summaries.mu.Unlock()
	if ok {
		return sum
	}
	body, err := s.cfg.Store.GetReport(ctx, id)
	if err != nil {
		return nil // not stored yet: the run is being reported
	}
	var h reportHead
	if json.Unmarshal(body, &h) != nil {
		return nil
	}
	sum = &wire.RunSummary{Requests: h.Totals.Requests, RPS: h.Totals.RPS, P95MS: h.LatencyMS.P95, ErrorRate: h.Totals.ErrorRate}
	for _, t := range h.Thresholds {
		if !t.NoBaseline { // one was evaluated: the verdict is the report's
			passed := (&reports.Report{Thresholds: h.Thresholds}).Passed()
			sum.ThresholdsPassed = &passed
			break
		}
	}
	s.summaries.mu.Lock()
	if len(s.summaries.m) >= summaryCacheSize {
		clear(s.summaries.m)
	}
	s.summaries.m[id] = sum
	s.summaries.mu.Unlock()
	return sum
}

// liveSummary is a running run's latest folded interval's figures.
func (s *Server) liveSummary(ctx context.Context, r *store.Run) *wire.RunSummary {
	width := fold.Width(r)
	now := int64(time.Since(r.Epoch) / width)
	rows, err := s.cfg.Store.ListIntervals(ctx, r.ID, now-8, 16)
	if err != nil || len(rows) == 0 {
		return nil
	}
	last := &rows[len(rows)-1]
	sum, err := fold.ReadSummary(last)
	if err != nil {
		return nil
	}
	p := reports.SeriesPoint(r.Epoch, fold.Folded(last, sum, width))
	return &wire.RunSummary{Requests: p.Requests, RPS: p.RPS, P95MS: p.P95, ErrorRate: p.ErrorRate}
}
