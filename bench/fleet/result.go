package main

import (
	"fmt"
	"io"
	"time"

	"github.com/barrage/barrage/api"
)

// result is what one store's benchmark measured.
type result struct {
	cfg           config
	store         string
	cpu           cpuWindow
	status        string
	endedAt       time.Time
	reportSeconds float64
	posted        int64
	inserted      int64
	dsn           string // the database the server used
	duplicates    int64  // acknowledged as already stored: a retry of a post that had arrived
	folded        int64
	intervals     int
	historyBytes  int64
	historyEvents int64
	historyRuns   int // workflow runs of the run's workflow (1 + continue-as-new)
	lagP50        int64
	lagP99        int64
}

// print writes the result lines; fleet_bench's format is a contract.
func (r *result) print(w io.Writer) {
	w0 := r.cfg.workers
	by := r.cpu.byLabel
	known := []string{api.LabelIngest, api.LabelFold, api.LabelStream, api.LabelAPI, standinLabel}
	var other time.Duration
	for label, d := range by {
		isKnown := false
		for _, k := range known {
			isKnown = isKnown || label == k
		}
		if !isKnown {
			other += d
		}
	}
	ps := r.cpu.perSecond
	fmt.Fprintf(w, "fleet_cpu workers=%d store=%s ingest=%.3f fold=%.3f stream=%.3f api=%.3f standin=%.3f other=%.3f total=%.3f\n",
		w0, r.store, ps(by[api.LabelIngest]), ps(by[api.LabelFold]), ps(by[api.LabelStream]), ps(by[api.LabelAPI]),
		ps(by[standinLabel]), ps(other), ps(r.cpu.total))
	fmt.Fprintf(w, "fleet_extra workers=%d store=%s history_events=%d history_runs=%d report_seconds=%.2f lag_p50_ms=%d snapshots_posted=%d snapshots_folded=%d viewers=%d\n",
		w0, r.store, r.historyEvents, r.historyRuns, r.reportSeconds, r.lagP50, r.posted, r.folded, r.cfg.viewers)
	fmt.Fprintf(w, "fleet_bench workers=%d steps=%d seconds=%d store=%s fold_core=%.3f ingest_core=%.3f lag_p99_ms=%d dropped=%d history_mb=%.2f status=%s\n",
		w0, r.cfg.steps, r.cfg.seconds, r.store, ps(by[api.LabelFold]), ps(by[api.LabelIngest]), r.lagP99,
		r.inserted+r.duplicates-r.folded, float64(r.historyBytes)/1e6, r.status)
}
