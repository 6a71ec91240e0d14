// Package store is Barrage's relational store: scenarios, runs, run events,
// snapshots, folded intervals, run controls and reports. One contract, Store, is
// implemented once over database/sql for two databases — Postgres through pgx/v5
// (production) and SQLite in pure Go (the embedded default) — with what differs
// between them in a small dialect (dialect.go), and one conformance suite runs
// against both.
//
// Usage:
//
//  1. Open a store from a DSN: store.Open(ctx, "sqlite:./barrage.db") or
//     store.Open(ctx, "postgres://user@host/db"). Open applies the numbered
//     migrations under migrations/ (under an advisory lock on Postgres, so two
//     servers starting together do not race); Migrate does only that, for
//     `barrage migrate`. "sqlite::memory:" is a private database that lives
//     as long as the store.
//  2. Use the methods of Store; driver errors come back mapped to ErrNotFound
//     and ErrConflict where they mean that (errors.Is works).
//  3. Close it.
//
// What the store guarantees on both databases, beyond each method's comment:
//
//   - Times are kept in UTC at microsecond precision (Postgres' precision);
//     a zero time (Run.Epoch, StartedAt, EndedAt, Interval.Start, End) is
//     stored as NULL and reads back as the zero time.
//   - Byte fields (documents, snapshot data, reports) read back byte for
//     byte as written; an empty one reads back as nil. Run.Tags reads back
//     as a non-nil map, empty when the run has none.
//   - A zero CreatedAt, Event.At, ReceivedAt, FoldedAt or LastSeen is
//     stored as the current time. A method given a pointer fills in what it
//     defaulted and rounds the struct's times as stored, so that the struct
//     equals what a read returns.
//   - A method naming a run that does not exist returns ErrNotFound, lists
//     included (an existing run with nothing to list gives an empty list).
//   - List limits default to 50 and are capped at 1000.
package store

import (
	"context"
	"errors"
	"time"
)

// Errors the implementations map driver errors to.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
)

// Status is where a run is: queued, running, or one of the three ends.
type Status string

// Run statuses.
const (
	StatusQueued    Status = "queued"
	StatusRunning   Status = "running"
	StatusCompleted Status = "completed"
	StatusFailed    Status = "failed"
	StatusAborted   Status = "aborted"
)

// Finished reports whether a run in this status is over.
func Finished(status Status) bool {
	return status == StatusCompleted || status == StatusFailed || status == StatusAborted
}

// ValidStatus reports whether s is one of the statuses above.
func ValidStatus(s string) bool {
	st := Status(s)
	return st == StatusQueued || st == StatusRunning || Finished(st)
}

// Shown is the status and start of a run as the API and reports show them
// at now. A run is running from its epoch, when its load starts: before
// that it is queued, with no start, though its workflow has set it up. A
// run that ended before its epoch never started.
func (r *Run) Shown(now time.Time) (status Status, started time.Time) {
	switch {
	case r.Epoch.IsZero():
		return r.Status, time.Time{}
	case r.Status == StatusRunning && now.Before(r.Epoch):
		return StatusQueued, time.Time{}
	case Finished(r.Status) && !r.EndedAt.After(r.Epoch):
		return r.Status, time.Time{}
	}
	return r.Status, r.Epoch
}

// Scenario is one version of a stored scenario. Document is the scenario's
// JSON (internal/scenario's API form).
type Scenario struct {
	ID        string
	Version   int
	Name      string
	Document  []byte
	CreatedAt time.Time
}

// Run is one execution of a scenario version.
type Run struct {
	ID              string
	ScenarioID      string
	ScenarioVersion int
	// Scenario is the JSON scenario as run: the version's document with the
	// run's overrides applied, so that a report never depends on a later
	// edit of the scenario.
	Scenario      []byte
	Overrides     []byte // JSON object, may be empty
	Status        Status
	TargetBaseURL string
	WorkerCount   int
	Elastic       bool              // take workers that join during the run
	MaxWorkers    int               // how many shards an elastic run keeps running at most (0: no cap)
	Tags          map[string]string // e.g. release=v1.4
	WorkflowID    string
	// Token authenticates the run's workers on the ingest endpoints.
	Token string
	// Epoch is the wall-clock time of profile time zero; IntervalMS the
	// snapshot interval. Both are set when the run starts.
	Epoch      time.Time
	IntervalMS int
	Reason     string // why a run failed or was aborted, and by whom
	// BaselineRunID is the run this one is compared with ("" = none).
	BaselineRunID string
	CreatedAt     time.Time
	StartedAt     time.Time // zero until started
	EndedAt       time.Time // zero until finished
}

// RunFilter selects runs for ListRuns; zero fields match everything.
type RunFilter struct {
	ScenarioID string
	Status     Status
	TagKey     string // with TagValue: runs whose tag TagKey equals TagValue
	TagValue   string
	Limit      int    // default 50, at most 1000
	Before     string // cursor: runs created before the run with this ID (newest first)
}

// Event is one line of a run's timeline.
type Event struct {
	RunID  string
	Seq    int64 // assigned by AppendEvent, 1, 2, ... per run
	At     time.Time
	Kind   string // worker_joined, worker_lost, shard_started, load_reduced, aborted, ...
	Detail string
	Data   []byte // JSON the kind defines (a measurement_gap's figures), may be empty
}

// Snapshot is one encoded hist.Snapshot as a worker sent it. The key
// (RunID, Shard, Attempt, Seq) is unique: storing it again changes nothing.
type Snapshot struct {
	RunID      string
	Shard      int
	Attempt    int
	Seq        int64
	Interval   int64 // index of the interval since the run's epoch
	Worker     string
	Data       []byte
	ReceivedAt time.Time
}

// IntervalHead is what ListIntervalHeads returns of an interval.
type IntervalHead struct {
	Index     int64
	Snapshots int
	FoldedAt  time.Time
}

// Interval is one folded interval: every snapshot of the interval merged.
type Interval struct {
	RunID     string
	Index     int64
	Start     time.Time
	End       time.Time
	Workers   int    // distinct workers that reported it
	Snapshots int    // how many snapshots were folded into it
	Data      []byte // encoded, folded hist.Snapshot
	// Summary is what live views and reports read of the interval (JSON,
	// see internal/fold); empty on intervals folded by older versions.
	Summary  []byte
	FoldedAt time.Time
	// Revision counts the interval's folds with more snapshots: 1 for its
	// first, more once a late snapshot folded it again (set by the store).
	Revision int
}

// Worker is a fleet node as it last announced itself.
type Worker struct {
	ID       string
	MaxVUs   int
	MaxRPS   int
	Host     string
	LastSeen time.Time
	// Busy is the run and shard the worker is running, if any.
	RunID string
	Shard int
}

// Store is the contract both implementations fulfil.
type Store interface {
	// CreateScenario stores version 1 of a new scenario; ErrConflict if the
	// ID exists. It sets s.Version to 1.
	CreateScenario(ctx context.Context, s *Scenario) error
	// UpdateScenario stores a new version and returns it (Version = last+1);
	// ErrNotFound if the scenario does not exist. Concurrent updates get
	// distinct versions.
	UpdateScenario(ctx context.Context, id, name string, document []byte) (*Scenario, error)
	// GetScenario returns a version, or the latest when version is 0;
	// ErrNotFound if there is no such scenario or version.
	GetScenario(ctx context.Context, id string, version int) (*Scenario, error)
	// ListScenarios returns the latest version of each scenario, newest
	// first (by that version's CreatedAt, then ID).
	ListScenarios(ctx context.Context, limit, offset int) ([]Scenario, error)
	// DeleteScenario removes every version; ErrConflict when a run uses it,
	// ErrNotFound when it does not exist.
	DeleteScenario(ctx context.Context, id string) error

	// CreateRun stores a new run. ScenarioVersion 0 means the scenario's
	// latest version; an empty Status means queued. ErrNotFound if the
	// scenario version does not exist, ErrConflict if the ID is taken.
	CreateRun(ctx context.Context, r *Run) error
	// GetRun returns a run; ErrNotFound if it does not exist.
	GetRun(ctx context.Context, id string) (*Run, error)
	// ListRuns returns the runs f selects, newest first (CreatedAt, then ID
	// as the tie-break, which Before follows too). ErrNotFound if f.Before
	// names a run that does not exist.
	ListRuns(ctx context.Context, f RunFilter) ([]Run, error)
	// StartRun moves a queued run to running with its epoch and interval.
	// ErrConflict unless the run is queued. A zero at means now.
	StartRun(ctx context.Context, id string, epoch time.Time, intervalMS int, at time.Time) error
	// FinishRun moves a run that is not finished to status (completed,
	// failed or aborted) with a reason; ErrConflict if it is already finished.
	// Any other status is an error. A zero at means now.
	FinishRun(ctx context.Context, id string, status Status, reason string, at time.Time) error
	// DeleteRun removes a finished run and everything stored of it (tags,
	// events, snapshots, folded intervals, control, report, feeder ranges)
	// in one transaction. ErrConflict, and nothing removed, when the run is
	// not finished; ErrNotFound when there is no such run. Runs that name it
	// as their baseline keep the reference (BaselineRunID).
	DeleteRun(ctx context.Context, id string) error
	// LatestRunWithTag returns the newest (by CreatedAt) finished run tagged
	// key=value; ErrNotFound if there is none.
	LatestRunWithTag(ctx context.Context, key, value string) (*Run, error)

	// AppendEvent stores an event and returns its Seq: 1, 2, 3, ... per run,
	// without gaps, also under concurrent appends. A zero At means now.
	AppendEvent(ctx context.Context, e Event) (int64, error)
	// AppendEvents stores events, of one run or several, in one
	// transaction and returns their Seqs: each run's events follow each
	// other in the order given. All or nothing: ErrNotFound (and nothing
	// stored) when a run does not exist.
	AppendEvents(ctx context.Context, events []Event) ([]int64, error)
	// ListEvents returns a run's events in Seq order.
	ListEvents(ctx context.Context, runID string) ([]Event, error)

	// PutSnapshot stores a snapshot; inserted is false when its key was
	// already stored (a replay), in which case nothing changes.
	PutSnapshot(ctx context.Context, s *Snapshot) (inserted bool, err error)
	// PutSnapshots stores several snapshots in one transaction and says of
	// each whether it was inserted, as PutSnapshot does; a snapshot whose
	// key comes twice in the batch is inserted once. A batch naming a run
	// that does not exist fails whole with ErrNotFound.
	PutSnapshots(ctx context.Context, snaps []Snapshot) ([]bool, error)
	// ListSnapshots returns the snapshots of one interval (all of them when
	// interval < 0), ordered by interval, shard, attempt, seq.
	ListSnapshots(ctx context.Context, runID string, interval int64) ([]Snapshot, error)
	// ListShardSnapshots returns the snapshots of one shard of a run (every
	// attempt), ordered by attempt and seq.
	ListShardSnapshots(ctx context.Context, runID string, shard int) ([]Snapshot, error)
	// CountSnapshots returns how many snapshots each interval of a run has
	// (intervals without any are absent).
	CountSnapshots(ctx context.Context, runID string) (map[int64]int, error)

	// CompactableRuns returns up to limit runs that ended before t, have a
	// stored report and still have raw snapshots, the earliest ended first.
	CompactableRuns(ctx context.Context, t time.Time, limit int) ([]string, error)
	// DeleteSnapshots removes every raw snapshot of a run (its folded
	// intervals stay) and returns how many it removed.
	DeleteSnapshots(ctx context.Context, runID string) (int64, error)

	// PutInterval stores a folded interval, replacing the stored one only if
	// the new one folded at least as many snapshots (a late snapshot
	// re-folds; two servers folding at once keep the fuller one).
	PutInterval(ctx context.Context, iv *Interval) error
	// ListIntervals returns the folded intervals with Index > after, in
	// order: the first limit of them, or all when limit <= 0.
	ListIntervals(ctx context.Context, runID string, after int64, limit int) ([]Interval, error)
	// ListIntervalsChanged returns, in index order, the folded intervals
	// with Index > after and those with Index <= after folded (again, or
	// late) after since — only those folded again (Revision > 1) when
	// revisedOnly: what a live view that has the first after+1 intervals as
	// of since lacks. At most limit (<= 0: all).
	ListIntervalsChanged(ctx context.Context, runID string, after int64, since time.Time, revisedOnly bool, limit int) ([]Interval, error)
	// ListIntervalHeads returns, in index order, the index, snapshot count
	// and fold time of every interval of a run folded after since (all of
	// them for a zero since), without their data: what an exporter
	// compares with what it pushed.
	ListIntervalHeads(ctx context.Context, runID string, since time.Time) ([]IntervalHead, error)

	// ClaimRecords grants a shard the next records of a run's sequential
	// feeder (see feeds.go): [lo, hi), empty (lo == hi) when none are left
	// anywhere. ErrNotFound if the run does not exist.
	ClaimRecords(ctx context.Context, c RecordClaim) (lo, hi int, err error)
	// ReleaseRecords gives a lost shard's unclaimed records of a feeder to
	// the shards that come next.
	ReleaseRecords(ctx context.Context, runID, feeder string, shard, shards, total int) error
	// ReleaseIterations gives a lost shard's shared iterations to the
	// shards that come next: its unclaimed rest and those it was granted
	// beyond done, the iterations its delivered snapshots count.
	ReleaseIterations(ctx context.Context, runID string, shard, shards, total, done int) error
	// FeedRows lists a feeder's ranges in shard order (released rests,
	// Shard < 0, first).
	FeedRows(ctx context.Context, runID, feeder string) ([]FeedRow, error)

	// PutControl stores the control document (JSON) a run's shards follow,
	// replacing the stored one only if version is at least its version, so
	// that a late retry of an older publish never rolls it back.
	// ErrNotFound if the run does not exist.
	PutControl(ctx context.Context, runID string, version int, doc []byte) error
	// GetControl returns a run's latest control document; ErrNotFound if
	// none was published (or the run does not exist).
	GetControl(ctx context.Context, runID string) ([]byte, error)

	// PutReport stores (or replaces) a run's report JSON.
	PutReport(ctx context.Context, runID string, report []byte) error
	// GetReport returns a run's report; ErrNotFound if none is stored.
	GetReport(ctx context.Context, runID string) ([]byte, error)

	// UpsertWorker records a worker's announcement.
	UpsertWorker(ctx context.Context, w *Worker) error
	// ListWorkers returns workers seen at or after since (all of them when
	// since is zero), ordered by ID.
	ListWorkers(ctx context.Context, since time.Time) ([]Worker, error)

	// CreateSchedule stores a new schedule (Tags nil: none; a zero
	// CreatedAt: now); ErrConflict if its ID is taken, ErrNotFound if its
	// scenario does not exist. GetSchedule returns one (ErrNotFound);
	// ListSchedules all of them, newest first; SetSchedulePaused records
	// its paused state and DeleteSchedule removes it (ErrNotFound when
	// there is none; its runs stay). A scenario a schedule runs cannot be
	// deleted (DeleteScenario: ErrConflict).
	CreateSchedule(ctx context.Context, sc *Schedule) error
	GetSchedule(ctx context.Context, id string) (*Schedule, error)
	ListSchedules(ctx context.Context) ([]Schedule, error)
	SetSchedulePaused(ctx context.Context, id string, paused bool) error
	DeleteSchedule(ctx context.Context, id string) error

	// CreateToken stores an API token's hash; ErrConflict when its name is
	// taken. TokenByHash finds one (ErrNotFound: no such token, or
	// revoked); TouchToken records its use; RevokeToken deletes it
	// (ErrNotFound if there is none by that name).
	CreateToken(ctx context.Context, t *Token) error
	TokenByHash(ctx context.Context, hash []byte) (*Token, error)
	TouchToken(ctx context.Context, name string, at time.Time) error
	ListTokens(ctx context.Context) ([]Token, error)
	RevokeToken(ctx context.Context, name string) error

	// AppendAudit adds a line to the append-only audit log and sets its ID;
	// ListAudit lists the lines after ID after, oldest first.
	AppendAudit(ctx context.Context, e *AuditEntry) error
	ListAudit(ctx context.Context, after int64, limit int) ([]AuditEntry, error)

	// PutSecret stores (or replaces) a secret's sealed value; GetSecret
	// returns it (ErrNotFound when unset); ListSecrets lists names only;
	// DeleteSecret removes one (ErrNotFound when unset).
	PutSecret(ctx context.Context, name string, sealed []byte, by string, at time.Time) error
	GetSecret(ctx context.Context, name string) ([]byte, error)
	ListSecrets(ctx context.Context) ([]Secret, error)
	DeleteSecret(ctx context.Context, name string) error

	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	Close() error
}
