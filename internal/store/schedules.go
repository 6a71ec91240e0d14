package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Schedule is a scheduled run as stored: what each firing of its Temporal
// Schedule starts. Exactly one of Cron and Every is set. Paused mirrors
// the Temporal Schedule's state as last set through the API.
type Schedule struct {
	ID            string
	ScenarioID    string
	Cron          string
	Every         time.Duration // stored to the millisecond
	TargetBaseURL string
	WorkerCount   int
	Tags          map[string]string // never nil once read
	Baseline      string            // a tag key=value, as POST /runs takes it
	Paused        bool
	CreatedAt     time.Time
	CreatedBy     string
}

const scheduleCols = "id, scenario_id, cron, every_ms, target_base_url, worker_count, tags, baseline, paused, created_at, created_by"

func scanSchedule(row scanner) (Schedule, error) {
	var (
		sc   Schedule
		ms   int64
		tags []byte
	)
	err := row.Scan(&sc.ID, &sc.ScenarioID, &sc.Cron, &ms, &sc.TargetBaseURL, &sc.WorkerCount, &tags, &sc.Baseline,
		&sc.Paused, timeCol{&sc.CreatedAt}, &sc.CreatedBy)
	if err != nil {
		return sc, err
	}
	sc.Every = time.Duration(ms) * time.Millisecond
	sc.Tags = map[string]string{}
	if err := json.Unmarshal(tags, &sc.Tags); err != nil {
		return sc, fmt.Errorf("decode tags of schedule %s: %w", sc.ID, err)
	}
	return sc, nil
}

// CreateSchedule stores a new schedule; ErrConflict if the ID is taken,
// ErrNotFound if its scenario does not exist.
func (s *sqlStore) CreateSchedule(ctx context.Context, sc *Schedule) error {
	if sc.ID == "" || sc.ScenarioID == "" || sc.WorkerCount < 1 || (sc.Cron == "") == (sc.Every <= 0) {
		return fmt.Errorf("create schedule %q: an ID, a scenario, a worker count and one of cron and every are required", sc.ID)
	}
	if sc.Tags == nil {
		sc.Tags = map[string]string{}
	}
	tags, _ := json.Marshal(sc.Tags) // a map of strings always encodes
	sc.CreatedAt = orNow(sc.CreatedAt)
	sc.Every = sc.Every.Truncate(time.Millisecond)
	_, err := s.w.ExecContext(ctx, "INSERT INTO schedules ("+scheduleCols+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
		sc.ID, sc.ScenarioID, sc.Cron, sc.Every.Milliseconds(), sc.TargetBaseURL, sc.WorkerCount, string(tags), sc.Baseline,
		sc.Paused, sc.CreatedAt, sc.CreatedBy)
	switch violated(err) {
	case uniqueViolation:
		return fmt.Errorf("create schedule %s: the ID is taken: %w", sc.ID, ErrConflict)
	case foreignKeyViolation:
		return fmt.Errorf("create schedule %s: scenario %s: %w", sc.ID, sc.ScenarioID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("create schedule %s: %w", sc.ID, err)
	}
	return nil
}

// GetSchedule returns a schedule; ErrNotFound if it does not exist.
func (s *sqlStore) GetSchedule(ctx context.Context, id string) (*Schedule, error) {
	sc, err := scanSchedule(s.r.QueryRowContext(ctx, "SELECT "+scheduleCols+" FROM schedules WHERE id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("schedule %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("schedule %s: %w", id, err)
	}
	return &sc, nil
}

// ListSchedules returns every schedule, newest first (CreatedAt, then ID).
func (s *sqlStore) ListSchedules(ctx context.Context) ([]Schedule, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT "+scheduleCols+" FROM schedules ORDER BY created_at DESC, id DESC")
	out, err := collect(rows, err, scanSchedule)
	if err != nil {
		return nil, fmt.Errorf("list schedules: %w", err)
	}
	return out, nil
}

// SetSchedulePaused records a schedule's paused state; ErrNotFound if it
// does not exist.
func (s *sqlStore) SetSchedulePaused(ctx context.Context, id string, paused bool) error {
	res, err := s.w.ExecContext(ctx, "UPDATE schedules SET paused = $2 WHERE id = $1", id, paused)
	return oneRow(res, err, "pause schedule "+id)
}

// DeleteSchedule removes a schedule (its runs stay); ErrNotFound if it
// does not exist.
func (s *sqlStore) DeleteSchedule(ctx context.Context, id string) error {
	res, err := s.w.ExecContext(ctx, "DELETE FROM schedules WHERE id = $1", id)
	return oneRow(res, err, "delete schedule "+id)
}
