package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/barrage/barrage/reports"
)

// TestSummaryDuration: a run that failed before its load started (its
// planned start after its end) prints no negative duration.
func TestSummaryDuration(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name           string
		started, ended time.Time
		want           string
	}{
		{"ran", t0, t0.Add(61234 * time.Millisecond), "duration 1m1.23s"},
		{"failed before its start", t0.Add(2 * time.Second), t0.Add(300 * time.Millisecond), "duration none: no load ran"},
		{"never started", time.Time{}, t0, "duration none: no load ran"},
	} {
		var b bytes.Buffer
		printSummary(&b, &reports.Report{Scenario: "s", Status: "failed", StartedAt: tc.started, EndedAt: tc.ended})
		if !strings.Contains(b.String(), tc.want) || strings.Contains(b.String(), "duration -") {
			t.Errorf("%s: summary %q, want %q", tc.name, strings.SplitN(b.String(), "\n", 3)[1], tc.want)
		}
	}
}

// TestSummaryGaps: a measurement gap is said in the summary, and the
// measured total is not changed by it.
func TestSummaryGaps(t *testing.T) {
	r := &reports.Report{Scenario: "s", Status: "completed", Totals: reports.Totals{Requests: 1000},
		MeasurementGaps: []reports.Gap{{Worker: "w2", Shard: 1, FromT: 12, ToT: 12.8, EstimatedRequests: 160, Reason: "lost"}}}
	var b bytes.Buffer
	printSummary(&b, r)
	for _, want := range []string{"requests..............: 1000 ", "≈160 requests by w2 in its last 0.8 s were not measured"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, b.String())
		}
	}
}

// TestSummaryIterations: the iterations done and their rate are in the
// totals, 0 included.
func TestSummaryIterations(t *testing.T) {
	for _, tc := range []struct {
		totals reports.Totals
		want   string
	}{
		{reports.Totals{Requests: 1000, Iterations: 250, IterationsPerSecond: 12.5}, "  iterations............: 250  12.5/s\n"},
		{reports.Totals{Requests: 3}, "  iterations............: 0  0.0/s\n"},
	} {
		var b bytes.Buffer
		printSummary(&b, &reports.Report{Scenario: "s", Status: "completed", Totals: tc.totals})
		if !strings.Contains(b.String(), tc.want) {
			t.Errorf("summary lacks %q:\n%s", tc.want, b.String())
		}
	}
}
