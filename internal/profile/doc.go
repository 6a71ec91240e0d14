// Package profile describes how much load a run applies over time, and how
// that load is split between the workers that apply it.
//
// One model covers every named profile: a [Profile] is a start value and a
// list of [Stage]s, each moving the target linearly to its own Target over
// its Duration (a zero Duration is a jump). In the [Closed] model the
// target is a number of virtual users; in the [Open] model it is an
// arrival rate in iterations per second. [Constant], [RampUp], [StepLoad],
// [Spike], [ConstantArrivalRate] and [RampingArrivalRate] are sugar that
// build validated profiles.
//
// Everything here is pure arithmetic with no clock, no goroutines and no
// randomness: callers pass the elapsed time in, so the same code runs in
// a worker's load loop, in tests, and in Temporal workflow code, where it
// must give the same answer on replay on any machine.
//
// Using it:
//
//  1. Build a profile from a scenario with the sugar or with stages, and
//     check it with [Profile.Validate].
//  2. Split it over the run's workers. For virtual users, build one
//     [Splitter] from the workers' capacities; at elapsed time t every shard
//     runs [Splitter.Count]([Profile.TargetInt](t), shard) VUs, and the
//     shards always add up to the global target. For an arrival rate, give
//     shard i the profile [Profile.Scale](fractions[i]) (or use
//     [SplitRate] for a single rate).
//  3. In the open model, drive each shard with a [Pacer]: its Next returns
//     the intended start time of every iteration, the instant from which
//     latency is measured. [Profile.Arrivals] and [Profile.Advance] answer
//     the same questions one at a time.
//  4. When the target changes mid-run (the ramp signal), replace the profile
//     with [Profile.Retarget]; when a shard is retried, resume it with
//     [Profile.Shift] at the offset it reached.
//  5. When workers join or leave, build a new Splitter from the new
//     capacities, keeping shard indices stable (a departed worker gets
//     weight 0); the counts move only as far as the quotas force.
package profile
