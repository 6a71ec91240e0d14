// Package workflows holds Barrage's Temporal workflows: one Run per run,
// with the run's ID as workflow ID, and the ShardGroup children it starts
// (ShardGroupID), each running up to ShardGroupSize of the run's load
// activities and signalling their ends back. It orchestrates only: the load
// arithmetic lives in internal/profile, the work in activities. Per-second
// metrics never pass through here (they go from workers to the server's
// ingest endpoint), so a run's history grows with the fleet's changes, not
// with time; past ContinueAfter events the run continues as new, and its
// shard groups (abandoned children) run on.
//
// Usage:
//
//  1. Register Run and ShardGroup on the ControlQueue worker, with the
//     activities of package activities (workers.NewControl does all that).
//  2. Start it with client.ExecuteWorkflow, ID = run ID, input RunInput.
//  3. Signal SignalAbort (AbortSignal) or SignalRamp (RampSignal) to steer it;
//     query QueryState for where it is.
package workflows

import (
	"time"

	"github.com/barrage/barrage/internal/profile"
	"github.com/barrage/barrage/internal/wire"
)

// Task queues, signals and the query of the run workflow.
const (
	ControlQueue = "barrage-control" // workflows and the server's activities
	LoadQueue    = "barrage-load"    // LoadShard, on the fleet's workers

	SignalAbort      = "abort"
	SignalRamp       = "ramp"
	SignalShardState = "shard_state"
	// SignalShardStates carries the starts of several shards at once: the
	// server gathers those that arrive together into one signal.
	SignalShardStates = "shard_states"
	// SignalShardsEnded carries shards' ends (ShardsEnded), sent by their
	// shard group workflow to the run's current workflow run.
	SignalShardsEnded = "shards_ended"
	// SignalCancelShards asks a shard group to cancel some of its shards
	// (CancelShards).
	SignalCancelShards = "cancel_shards"
	// SignalShardSilent: the server saw a running shard go silent
	// (ShardSilent): its connection closed and its snapshots stopped. The
	// run takes it as lost at once rather than after HeartbeatTimeout.
	SignalShardSilent = "shard_silent"
	QueryState        = "state"

	// WorkflowShardGroup is the child workflow that runs a group of a
	// run's shards (their load activities) and tells the run how each
	// ended. Runs recorded before it existed ran the load activities
	// themselves.
	WorkflowShardGroup = "ShardGroup"
)

// Timing of a run.
const (
	// StartLead is how far after the workflow decides to start the profile's
	// time zero lies: workers pick their shard up, fetch the scenario and
	// open connections before it, so that the first interval is a full one.
	StartLead = 2 * time.Second
	// HeartbeatTimeout is how long a silent load activity is trusted; after
	// it, the shard is lost: its share goes to the others and a replacement
	// waits for the next free worker.
	HeartbeatTimeout = 10 * time.Second
	// HeartbeatEvery is how often a load activity heartbeats: half the
	// timeout, so that a heartbeat answered late (the SDK gives its call
	// that long, then cancels the activity) still arrives before the
	// timeout; and rarely enough that a large fleet costs Temporal little
	// (each heartbeat is a call to its frontend and a write of the
	// activity's state).
	HeartbeatEvery = HeartbeatTimeout / 2
	// FirstPickup is how long a run's first shards wait for a worker before
	// they count as lost.
	FirstPickup = 30 * time.Second
	// EndSlack bounds how long after the profile's end (graceful stop
	// included) the run waits for stragglers before cancelling them.
	EndSlack = 2 * time.Minute
	// ReplanDelay gathers what changes the fleet within it — shards that
	// start, are lost or fail — into one new plan: a fleet of a thousand
	// starting together costs a few published controls, not a thousand
	// (each carries every shard's fraction).
	ReplanDelay = 500 * time.Millisecond
	// HistoryBudget is how many history events a run may have before it
	// stops replacing lost shards: well under Temporal's limit (50,000),
	// past which it would terminate the run, leaving room for the shards'
	// ends and the report.
	HistoryBudget = 30_000
	// ContinueAfter is how many history events a run's workflow run may
	// have before it continues as new (carrying its state, its shards
	// running on in their own workflows), unless Temporal suggests it
	// sooner: far below Temporal's limit and well before 10,000 events.
	ContinueAfter = 5_000
	// ShardGroupSize is how many shards a shard group runs at most: a
	// thousand shards start as ten child workflows, and a heartbeat
	// updates the state of a group of at most this many activities.
	ShardGroupSize = 100
)

// RunInput starts a run workflow.
type RunInput struct {
	RunID string
	// Carry is the state of the run's previous workflow run when the run
	// continued as new; nil for a new run.
	Carry *RunCarry `json:",omitempty"`
}

// RunCarry is what a run carries into its next workflow run; its shard
// groups run on. Its size grows with the shards alive (not with those that
// ended), and with the slots ever made by a float each (their fractions in
// Control).
type RunCarry struct {
	Spec    RunSpec
	Epoch   time.Time
	Base    profile.Profile
	Control Control
	State   RunState
	// Slots is how many slots the run has made; Live those waiting or
	// running (the others have ended).
	Slots int
	Live  []CarriedSlot
	// Results are the first listedResults shard results.
	Results                 []ShardResult
	Failed, Aborted, Ending bool
	Reason                  string
	Ran                     int
	ShardsDone              int
	Replacements            int
	Invalid                 int
	FirstInvalid            string
	FailedStarts            int
	Overdue                 bool `json:",omitempty"`
	IterationsDone          bool `json:",omitempty"`
	// Pauses are when the replacements waiting on a pause are due.
	Pauses []time.Time
	// ReplanWhy is what a replan that was due when the run continued is for.
	ReplanWhy []string
}

// CarriedSlot is a live slot carried across continue-as-new.
type CarriedSlot struct {
	Index   int
	First   bool `json:",omitempty"`
	Started bool `json:",omitempty"`
	State   string
	Worker  string `json:",omitempty"`
	MaxVUs  int    `json:",omitempty"`
	MaxRPS  int    `json:",omitempty"`
	// Group is the ID of its shard group's workflow.
	Group string
	// Cancelled: its cancellation was asked for.
	Cancelled bool `json:",omitempty"`
	// Newcomer: an elastic run's shard for the next worker that joins.
	Newcomer bool `json:",omitempty"`
}

// ShardGroupInput is the input of a shard group workflow.
type ShardGroupInput struct {
	// Parent is the run's workflow ID: the shards' ends are signalled to
	// the run's current workflow run, whichever it is by then.
	Parent string
	Shards []ShardInput
	// First: the run's first shards, given FirstPickup to find a worker;
	// later ones may wait until End.
	First bool `json:",omitempty"`
	// End is when the profile and its graceful stop are over.
	End time.Time
}

// ShardsEnded is the payload of SignalShardsEnded.
type ShardsEnded struct {
	Ends []ShardEnded
}

// ShardSilent is the payload of SignalShardSilent.
type ShardSilent struct {
	Shard  int
	Worker string // the worker the server saw running it
	Why    string
}

// CancelShards is the payload of SignalCancelShards.
type CancelShards struct {
	Shards []int
}

// Shard outcomes, in ShardEnded.
const (
	OutcomeCompleted = "completed"
	OutcomeCancelled = "cancelled"
	OutcomeNotTaken  = "not_taken" // no worker took it in time
	OutcomeInvalid   = "invalid"   // it cannot run anywhere
	OutcomeLost      = "lost"      // it failed or its worker went silent
)

// ShardEnded is how a shard's load activity ended.
type ShardEnded struct {
	Shard   int
	Outcome string
	Result  ShardResult
	// Error is the activity's error and Short its cause alone ("" when it
	// completed).
	Error string `json:",omitempty"`
	Short string `json:",omitempty"`
}

// RunSpec is what the workflow needs to know about a run, read by the
// PrepareRun activity.
type RunSpec struct {
	RunID        string
	Shards       int
	Profile      profile.Profile
	GracefulStop time.Duration
	IntervalMS   int
	// Epoch is set when the run had started before (the workflow is being
	// replayed on another server after a crash): the profile keeps its time.
	Epoch time.Time
	// AbortOnErrorRate is the scenario's abort_on rate (0: none); the server
	// evaluates it and signals the workflow.
	AbortOnErrorRate float64
	// Token is the run's ingest token, handed to its shards: "" when the
	// server has a fleet token, from which the shards derive it (so that
	// the history never holds it); otherwise it is visible in the
	// workflow's history, and only lets a worker report on this run.
	Token string
	// Elastic runs take every idle worker: a shard waits in the load queue
	// for the next worker that joins, while fewer than MaxWorkers shards
	// run (0: no cap).
	Elastic    bool
	MaxWorkers int
}

// ShardState is what a load activity reports (through the server) when it
// starts: which worker took the shard, and what it can carry.
type ShardState struct {
	Shard   int
	Attempt int
	Worker  string
	MaxVUs  int
	MaxRPS  int
}

// ShardStates is the payload of SignalShardStates.
type ShardStates struct {
	States []ShardState
}

// StartInput marks a run as running.
type StartInput struct {
	RunID      string
	Epoch      time.Time
	IntervalMS int
}

// Control is what every shard of a run follows (see wire.Control): the
// workflow publishes it, workers poll it from the server.
type Control = wire.Control

// ShardInput is one load activity's work. Its size does not grow with the
// fleet: a shard reads its share of the load from the run's control.
type ShardInput struct {
	RunID      string
	Shard      int
	Shards     int
	Epoch      time.Time
	IntervalMS int
	// Token authenticates the worker on the server's ingest endpoints;
	// "": derive it from the fleet token (wire.IngestToken).
	Token string
}

// ShardResult is how a shard ended.
type ShardResult struct {
	Shard     int
	Worker    string
	Attempt   int
	Reason    string
	Snapshots uint64
	Aborted   bool
	// IterationsDone says the shard ended because the run's iterations
	// are done: IterationsShared (none is left for any shard) or
	// IterationsPerVU (its VUs did theirs); "" otherwise.
	IterationsDone string `json:",omitempty"`
	// Iterations counts the iterations the shard started.
	Iterations int64 `json:",omitempty"`
}

// ShardProgress is a load activity's heartbeat detail: where the shard is,
// so that a retry knows what its predecessor did.
type ShardProgress struct {
	Worker    string
	Offset    time.Duration
	Snapshots uint64
}

// AbortSignal asks the run to stop; By names who asked (a user, "error_rate").
type AbortSignal struct {
	By     string
	Reason string
	// Failed ends the run as failed rather than aborted (the error-rate abort).
	Failed bool
}

// RampSignal changes the target load for the rest of the run: VUs (closed
// model) or iterations/s (open), reached linearly over Over.
type RampSignal struct {
	Target float64
	Over   time.Duration
	By     string
}

// EventInput records a line of the run's timeline.
type EventInput struct {
	RunID  string
	Kind   string
	Detail string
	// Shard is the shard a worker_lost event is about (nil: none named).
	Shard *int `json:",omitempty"`
}

// FinishInput ends a run.
type FinishInput struct {
	RunID  string
	Status string
	Reason string
}

// RunState answers QueryState.
type RunState struct {
	Phase    string // preparing, running, stopping, reporting, done
	Epoch    time.Time
	Shards   int
	Finished int
	Aborted  bool
	Reason   string
	Control  int // version of the published control
	// Completed lists the first listedResults shards that completed;
	// ShardsDone counts them all.
	Completed  []ShardResult
	ShardsDone int
	// Continued counts the times the run's workflow continued as new.
	Continued int
}

// RunOutcome is the workflow's result.
type RunOutcome struct {
	RunID  string
	Status string
	Reason string
	// Shards lists the first listedResults shards that completed;
	// ShardsDone counts them all.
	Shards     []ShardResult
	ShardsDone int
	Continued  int
}
