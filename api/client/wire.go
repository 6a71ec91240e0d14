package client

import "github.com/barrage/barrage/internal/wire"

// The API's JSON shapes, defined once in package wire for the server and
// this client.
type (
	ScenarioRef     = wire.ScenarioRef
	ScenarioInfo    = wire.ScenarioInfo
	RunRequest      = wire.RunRequest
	Run             = wire.Run
	RunSummary      = wire.RunSummary
	RunSpec         = wire.RunSpec
	ShardRef        = wire.ShardRef
	IngestResult    = wire.IngestResult
	WorkerBeat      = wire.WorkerBeat
	ShardState      = wire.ShardState
	Control         = wire.Control
	ScheduleRequest = wire.ScheduleRequest
	Schedule        = wire.Schedule
	ScheduledRun    = wire.ScheduledRun
	ImportResult    = wire.ImportResult
	StepNote        = wire.StepNote
)
