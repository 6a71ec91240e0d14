package wire

import "time"

// ScheduleRequest is the body of POST /schedules: a run request (as POST
// /runs takes it) and when to start it — exactly one of Cron (five fields,
// or @hourly, @daily, @weekly, @monthly, @yearly; CRON_TZ=Zone first for a
// time zone other than UTC) and Every (a Go duration, at least 1s).
type ScheduleRequest struct {
	ScenarioID    string            `json:"scenario_id"`
	Cron          string            `json:"cron,omitempty"`
	Every         string            `json:"every,omitempty"`
	TargetBaseURL string            `json:"target_base_url,omitempty"`
	Workers       int               `json:"workers,omitempty"`
	Tags          map[string]string `json:"tags,omitempty"`
	// Baseline is what each firing's run is compared with: a tag
	// key=value (the newest finished run so tagged), or "previous" for the
	// schedule's own newest finished run (tag schedule=<id>). A firing
	// with no such run yet runs without a baseline.
	Baseline string `json:"baseline,omitempty"`
}

// Schedule is a scheduled run as the API shows it.
type Schedule struct {
	ScheduleID    string            `json:"schedule_id"`
	ScenarioID    string            `json:"scenario_id"`
	Cron          string            `json:"cron,omitempty"`
	Every         string            `json:"every,omitempty"`
	TargetBaseURL string            `json:"target_base_url,omitempty"`
	Workers       int               `json:"workers"`
	Tags          map[string]string `json:"tags"`
	Baseline      string            `json:"baseline,omitempty"`
	Paused        bool              `json:"paused"`
	CreatedAt     time.Time         `json:"created_at"`
	CreatedBy     string            `json:"created_by,omitempty"`
	// NextRunAt is the next firing (absent while paused, or when Temporal
	// cannot be asked).
	NextRunAt *time.Time `json:"next_run_at,omitempty"`
	// TemporalScheduleID names the Temporal Schedule (barrage-schedule-<id>);
	// TemporalUIURL links to it when the server knows the Temporal UI.
	TemporalScheduleID string `json:"temporal_schedule_id"`
	TemporalUIURL      string `json:"temporal_ui_url,omitempty"`
	// LastRun is the newest run a firing started (absent before the first).
	LastRun *ScheduledRun `json:"last_run,omitempty"`
}

// ScheduledRun is the newest run of a schedule, as its list shows it.
type ScheduledRun struct {
	RunID     string    `json:"run_id"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	// ThresholdsFailed: the run finished and failed its thresholds
	// (baseline thresholds included).
	ThresholdsFailed bool `json:"thresholds_failed"`
}
