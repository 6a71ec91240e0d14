// Package hist records request outcomes into HDR histograms and counters,
// cuts them into per-interval snapshots, encodes those for the network and
// storage, and merges snapshots from many shards with HDR merge semantics:
// the merged p99 of N shards is exactly the p99 of one histogram holding all
// their samples.
//
// It is a leaf of the pure core: no Temporal, no database, no HTTP framework,
// no clock (callers pass times in).
//
// Recording is separate from the data it produces. A Recorder is mutable,
// concurrent and allocation-free on the hot path; a Snapshot is plain data
// that can be cloned, merged, encoded and folded.
//
// Usage on a load-generating shard:
//
//  1. Create one Recorder per shard with NewRecorder(len(scenario.Steps)).
//  2. From every virtual user, call Record(step, Result{...}) once per
//     finished request (errors included), AddIteration after an
//     iteration's last request and, in the open model, AddDropped(n) for
//     iterations that could not start.
//  3. Once a second, call Flush(start, end): it returns everything recorded
//     since the previous Flush and starts a fresh interval.
//  4. Fill in the snapshot's identity (RunID, Worker, Shard, Attempt, Seq
//     counting from 1) and ActiveVUs/TargetVUs.
//  5. Encode it with MarshalBinary (or AppendBinary into a reused buffer)
//     and send or buffer the bytes.
//  6. Hand the snapshot to Recorder.Release, so that the next Flush reuses
//     its histograms instead of allocating ~147 KB per step.
//
// Usage on the server:
//
//  1. Decode each received body; errors wrap ErrCorrupt, ErrTooLarge or
//     ErrVersion, and nothing else changes.
//  2. Collect the snapshots of one interval, one per shard, and Fold them.
//  3. Read percentiles from Total().Latency or from each step's Latency,
//     in microseconds.
//
// Latency is recorded in microseconds, from 0 to HighestMicros (100 s) at 3
// significant digits. Longer requests are recorded as HighestMicros and
// counted in StepStats.Clamped, so that a report can say the max is a floor.
package hist
