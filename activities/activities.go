// Package activities holds the work of a run, as Temporal activities: the
// server's (prepare, start, publish control, record events, finish, build the
// report), methods on Server, which holds the store; and the fleet's
// (LoadShard), methods on Fleet, which holds the server's HTTP client. A
// process registers the ones it runs (package workers).
package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/barrage/barrage/internal/netpolicy"
	"log/slog"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/barrage/barrage/api/client"
	"github.com/barrage/barrage/internal/fold"
	"github.com/barrage/barrage/internal/service"
	"github.com/barrage/barrage/internal/store"
	"github.com/barrage/barrage/workflows"
)

// errInvalidRun is the type of errors retrying cannot fix.
const errInvalidRun = "invalid_run"

// Server carries what the server's activities need: they prepare, start,
// steer, finish and report runs on the control queue, next to the store.
type Server struct {
	Store store.Store
	// ControlPublished, when set, learns every control this process stores,
	// so that the API serves it to the run's shards at once.
	ControlPublished func(runID string, version int, doc []byte)
	// ShardLost, when set, learns every shard the run's workflow takes as
	// lost (the server releases its records and iterations not done, and
	// declares its measurement gap); an error says the release failed.
	ShardLost func(runID string, shard int) error
	// Reported, when set, learns every run whose report BuildReport stored
	// (the VictoriaMetrics export pushes its last intervals).
	Reported func(runID string)
	// FleetToken, when set, is what workers derive each run's ingest token
	// from (wire.IngestToken): the token then stays out of the workflow's
	// inputs and history.
	FleetToken string
	// Schedules starts the runs of scheduled firings (FireSchedule); nil:
	// a firing fails.
	Schedules *service.Schedules
	Logger    *slog.Logger
}

// Fleet carries what a worker's load activity needs: it runs shards on the
// load queue and talks to the server over HTTP only.
type Fleet struct {
	Server   *client.Client
	WorkerID string
	MaxVUs   int // this worker's declared capacity (0: none)
	MaxRPS   int
	// SpoolDir holds snapshots that could not be delivered yet beyond what
	// memory keeps ("" = the system's temp folder).
	SpoolDir string
	// TemporalHealthy returns when this worker last reached Temporal (nil:
	// always trusted).
	TemporalHealthy func() time.Time
	// FleetToken derives the ingest token of a run whose shard input
	// carries none (the server has the same fleet token).
	FleetToken string
	// Policy is this worker's own --allow-target: it narrows (never
	// widens) each run's policy from the server. nil: the server's alone.
	Policy *netpolicy.Policy
	Logger *slog.Logger
}

func (a *Fleet) log() *slog.Logger {
	if a.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return a.Logger
}

// Register registers the server's activities on w.
func (a *Server) Register(w worker.Registry) {
	for name, fn := range map[string]any{
		workflows.ActivityPrepareRun: a.PrepareRun, workflows.ActivityStartRun: a.StartRun,
		workflows.ActivityPublishControl: a.PublishControl, workflows.ActivityRecordEvent: a.RecordEvent,
		workflows.ActivityFinishRun: a.FinishRun, workflows.ActivityBuildReport: a.BuildReport,
		workflows.ActivityFireSchedule: a.FireSchedule,
	} {
		w.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
}

// Register registers the fleet's activity on w.
func (a *Fleet) Register(w worker.Registry) {
	w.RegisterActivityWithOptions(a.LoadShard, activity.RegisterOptions{Name: workflows.ActivityLoadShard})
}

func invalid(format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), errInvalidRun, nil)
}

// PrepareRun reads the run and checks that it can run.
func (a *Server) PrepareRun(ctx context.Context, runID string) (workflows.RunSpec, error) {
	r, err := a.Store.GetRun(ctx, runID)
	if errors.Is(err, store.ErrNotFound) {
		return workflows.RunSpec{}, invalid("run %s does not exist", runID)
	}
	if err != nil {
		return workflows.RunSpec{}, fmt.Errorf("prepare run %s: %w", runID, err)
	}
	if store.Finished(r.Status) {
		return workflows.RunSpec{}, invalid("run %s is already %s", runID, r.Status)
	}
	plan, err := fold.CompileRun(r)
	if err != nil {
		return workflows.RunSpec{}, invalid("%v", err)
	}
	spec := workflows.RunSpec{
		RunID: runID, Shards: max(1, r.WorkerCount), Profile: plan.Profile,
		GracefulStop: plan.GracefulStop, IntervalMS: r.IntervalMS, Token: r.Token, Elastic: r.Elastic,
		MaxWorkers: r.MaxWorkers,
	}
	if plan.IterationsPerVU > 0 {
		// Each VU does its iterations once: a newcomer taking a share
		// would stop some VUs early and start new ones.
		spec.Elastic = false
	}
	if a.FleetToken != "" {
		spec.Token = "" // the shards derive it from the fleet token
	}
	if spec.IntervalMS <= 0 {
		spec.IntervalMS = fold.DefaultIntervalMS
	}
	if r.Status == store.StatusRunning {
		spec.Epoch = r.Epoch
	}
	if plan.AbortOn != nil {
		spec.AbortOnErrorRate = plan.AbortOn.ErrorRate
	}
	return spec, nil
}

// StartRun marks the run running; repeating it is harmless.
func (a *Server) StartRun(ctx context.Context, in workflows.StartInput) error {
	err := a.Store.StartRun(ctx, in.RunID, in.Epoch, in.IntervalMS, time.Now())
	if errors.Is(err, store.ErrConflict) {
		r, gerr := a.Store.GetRun(ctx, in.RunID)
		if gerr == nil && r.Status == store.StatusRunning {
			return nil // started by an earlier attempt of this activity
		}
		return invalid("start run %s: %v", in.RunID, err)
	}
	if err != nil {
		return fmt.Errorf("start run %s: %w", in.RunID, err)
	}
	_, err = a.Store.AppendEvent(ctx, store.Event{RunID: in.RunID, At: time.Now(), Kind: "started",
		Detail: fmt.Sprintf("load starts at %s", in.Epoch.UTC().Format(time.RFC3339Nano))})
	return err
}

// PublishControl stores the control every shard follows.
func (a *Server) PublishControl(ctx context.Context, c workflows.Control) error {
	doc, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode control: %w", err)
	}
	if err := a.Store.PutControl(ctx, c.RunID, c.Version, doc); err != nil {
		return err
	}
	if a.ControlPublished != nil {
		a.ControlPublished(c.RunID, c.Version, doc)
	}
	return nil
}

// RecordEvent adds a line to the run's timeline.
// A lost shard's records and iterations are released first: when that
// fails the activity fails, and Temporal tries it again (releasing twice
// changes nothing), before the event is recorded once.
func (a *Server) RecordEvent(ctx context.Context, in workflows.EventInput) error {
	if in.Kind == "worker_lost" && in.Shard != nil && a.ShardLost != nil {
		if err := a.ShardLost(in.RunID, *in.Shard); err != nil {
			return err
		}
	}
	_, err := a.Store.AppendEvent(ctx, store.Event{RunID: in.RunID, At: time.Now(), Kind: in.Kind, Detail: in.Detail})
	return err
}

// FinishRun marks the run finished; repeating it is harmless.
func (a *Server) FinishRun(ctx context.Context, in workflows.FinishInput) error {
	err := a.Store.FinishRun(ctx, in.RunID, store.Status(in.Status), in.Reason, time.Now())
	if errors.Is(err, store.ErrConflict) {
		return nil // finished by an earlier attempt
	}
	if errors.Is(err, store.ErrNotFound) {
		return invalid("finish run %s: no such run", in.RunID)
	}
	if err != nil {
		return fmt.Errorf("finish run %s: %w", in.RunID, err)
	}
	detail := in.Status
	if in.Reason != "" {
		detail += ": " + in.Reason
	}
	_, err = a.Store.AppendEvent(ctx, store.Event{RunID: in.RunID, At: time.Now(), Kind: "finished", Detail: detail})
	return err
}

// BuildReport builds the run's report from its stored folded intervals and
// stores it.
func (a *Server) BuildReport(ctx context.Context, runID string) error {
	rep, err := fold.BuildReport(ctx, a.Store, runID, func(done int) {
		activity.RecordHeartbeat(ctx, done)
	})
	if err != nil {
		return err
	}
	b, err := json.Marshal(rep)
	if err != nil {
		return fmt.Errorf("encode report of %s: %w", runID, err)
	}
	if err := a.Store.PutReport(ctx, runID, b); err != nil {
		return err
	}
	if a.Reported != nil {
		a.Reported(runID)
	}
	return nil
}
