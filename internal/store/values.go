package store

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"
)

// List sizes: the default when a caller gives none, and the most one call
// returns.
const (
	defaultLimit = 50
	maxLimit     = 1000
)

func clampLimit(n int) int {
	switch {
	case n <= 0:
		return defaultLimit
	case n > maxLimit:
		return maxLimit
	}
	return n
}

// dbTime is t as the store keeps it: UTC, truncated to the microsecond
// Postgres stores, so that what a caller holds after a write equals what a
// read returns, on both stores.
func dbTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// orNow is dbTime(t), or the current time when t is zero.
func orNow(t time.Time) time.Time {
	if t.IsZero() {
		return dbTime(time.Now())
	}
	return dbTime(t)
}

// nullTime is dbTime(t) as an argument for a nullable column: NULL for
// the zero time.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return dbTime(t)
}

// blob never returns nil: the columns are NOT NULL and drivers bind a nil
// slice as NULL.
func blob(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// readBlob reads an empty column back as nil on both stores (drivers differ).
func readBlob(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// decodeTags reads the JSON object a tag aggregate returns; no tags (NULL
// or {}) read back as an empty, non-nil map.
func decodeTags(runID string, raw []byte) (map[string]string, error) {
	tags := map[string]string{}
	if len(raw) == 0 {
		return tags, nil
	}
	if err := json.Unmarshal(raw, &tags); err != nil {
		return nil, fmt.Errorf("decode tags of run %s: %w", runID, err)
	}
	return tags, nil
}

func validateNewRun(r *Run) error {
	if r.ID == "" {
		return fmt.Errorf("create run: empty id")
	}
	if r.ScenarioID == "" {
		return fmt.Errorf("create run %s: empty scenario id", r.ID)
	}
	switch r.Status {
	case "", StatusQueued, StatusRunning, StatusCompleted, StatusFailed, StatusAborted:
		return nil
	}
	return fmt.Errorf("create run %s: unknown status %q", r.ID, r.Status)
}

// newRunDefaults returns the values CreateRun stores for the fields a
// caller may leave zero.
func newRunDefaults(r *Run) (status Status, createdAt time.Time) {
	status = r.Status
	if status == "" {
		status = StatusQueued
	}
	return status, orNow(r.CreatedAt)
}

// storedRun sets what CreateRun fills in and rounds r's times the way the
// store keeps them, so that r equals what GetRun will return.
func storedRun(r *Run, status Status, version int, createdAt time.Time) {
	r.Status, r.ScenarioVersion, r.CreatedAt = status, version, createdAt
	r.Epoch, r.StartedAt, r.EndedAt = dbTime(r.Epoch), dbTime(r.StartedAt), dbTime(r.EndedAt)
}

// refusal is the error of a status update that matched no row, given what
// reading the run's status then found: no run, a failed read, or a status
// that does not allow the move.
func refusal(verb, id string, status Status, missing bool, err error) error {
	switch {
	case missing:
		return fmt.Errorf("%s run %s: %w", verb, id, ErrNotFound)
	case err != nil:
		return fmt.Errorf("%s run %s: %w", verb, id, err)
	}
	return fmt.Errorf("%s run %s: run is %s: %w", verb, id, status, ErrConflict)
}

// sqlLimit turns "no limit" (<= 0) into a LIMIT both dialects take.
func sqlLimit(limit int) int64 {
	if limit <= 0 {
		return math.MaxInt64
	}
	return int64(limit)
}

// eventRun is one run's share of a batch of events.
type eventRun struct {
	id string
	n  int64 // its events in the batch
}

// eventRuns lists the runs of a batch of events, in order of first
// appearance, with how many events each has.
func eventRuns(events []Event) []*eventRun {
	var runs []*eventRun
	for _, e := range events {
		i := slices.IndexFunc(runs, func(r *eventRun) bool { return r.id == e.RunID })
		if i < 0 {
			runs = append(runs, &eventRun{id: e.RunID})
			i = len(runs) - 1
		}
		runs[i].n++
	}
	return runs
}

// number gives the run's events in the batch the seqs up to last, in order.
func (r *eventRun) number(events []Event, seqs []int64, last int64) {
	next := last - r.n + 1
	for i, e := range events {
		if e.RunID == r.id {
			seqs[i] = next
			next++
		}
	}
}
