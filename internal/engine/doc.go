// Package engine generates the load of one shard of a run: virtual users
// (VUs) iterating over a scenario's steps against a target, paced by the
// load profile, with checks, extraction, feeders, cookies and redirects, and
// every request recorded into per-interval snapshots. It is part of the pure
// core: no Temporal, no database, no server; the load activity (activities)
// drives it on a worker, and tests drive it directly against httptest.
//
// The main types:
//
//   - Config: one shard's work: the compiled scenario.Plan, the target's
//     BaseURL, which shard of how many, its Share of the load, the Epoch
//     shards align on, and the Sink that receives snapshots; the Policy of
//     allowed targets, checked at every connect (redirects included), and
//     Blocked, told once per host it refused.
//   - Engine: runs it. The closed model (closed.go) keeps a number of VUs
//     iterating; the open model (open.go) starts iterations at a rate from a
//     pool of VUs and counts the arrivals it cannot start as dropped.
//   - Summary: how the run ended.
//
// To use it:
//
//  1. Compile a scenario: plan, err := scenario.Compile(s).
//  2. Create the shard: e, err := engine.New(engine.Config{Plan: plan,
//     BaseURL: "http://target:8080", Sink: send}). Sink gets a
//     *hist.Snapshot every Config.Interval, in order, from one goroutine:
//     encode and queue it, do not block.
//  3. Run it: sum, err := e.Run(ctx). It returns when the profile is over
//     (after the plan's graceful stop) or ctx is cancelled (an abort: new
//     requests stop at once, those in flight get AbortGrace), once the last
//     snapshot has reached Sink.
//  4. While it runs, steer it from another goroutine: SetShare when the
//     run's shards are rebalanced, SetProfile for a ramp
//     (profile.Retarget); read ActiveVUs and Offset for progress.
package engine
