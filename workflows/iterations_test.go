package workflows

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// iterationShards are load activities whose shard 0 finds the run's
// shared iterations done at once; the others end when the published
// control says so, as the engine does (or after 10 s, failing the test).
type iterationShards struct {
	fakeActivities
	kind     string
	sawDone  []int
	finishAt map[int]time.Duration // per-VU: when each shard's VUs are done
	// lose: this shard's worker dies once it learnt the iterations are
	// done (it held iterations it had not done).
	lose     int
	launched []int
}

func (f *iterationShards) LoadShard(ctx context.Context, in ShardInput) (ShardResult, error) {
	done := ShardResult{Shard: in.Shard, Worker: "w", Attempt: 1, Reason: ReasonIterationsDone, IterationsDone: f.kind}
	f.mu.Lock()
	f.launched = append(f.launched, in.Shard)
	f.mu.Unlock()
	if f.kind == IterationsPerVU {
		time.Sleep(f.finishAt[in.Shard])
		return done, nil
	}
	if in.Shard == 0 {
		return done, nil
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		f.mu.Lock()
		told := len(f.controls) > 0 && f.controls[len(f.controls)-1].IterationsDone
		if told {
			f.sawDone = append(f.sawDone, in.Shard)
		}
		f.mu.Unlock()
		if told && in.Shard == f.lose {
			return ShardResult{}, errors.New("worker killed")
		}
		if told {
			return done, nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	return ShardResult{Shard: in.Shard, Reason: "completed"}, ctx.Err()
}

func TestIterationsDoneEndTheRun(t *testing.T) {
	for _, tc := range []struct {
		name    string
		f       *iterationShards
		sawDone int
	}{
		{name: "shared", f: &iterationShards{kind: IterationsShared}, sawDone: 2},
		{name: "per VU", f: &iterationShards{kind: IterationsPerVU, finishAt: map[int]time.Duration{0: 10 * time.Millisecond, 1: 80 * time.Millisecond, 2: 150 * time.Millisecond}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t, tc.f)
			startShards(env, 3, 0)
			env.ExecuteWorkflow(Run, RunInput{RunID: "r"})
			var out RunOutcome
			if err := env.GetWorkflowResult(&out); err != nil {
				t.Fatal(err)
			}
			f := tc.f
			if out.Status != "completed" || out.Reason != ReasonIterationsDone || len(f.finished) != 1 || f.finished[0].Reason != ReasonIterationsDone {
				t.Fatalf("outcome %+v, finished %+v", out, f.finished)
			}
			if len(f.sawDone) != tc.sawDone {
				t.Fatalf("shards %v were told the iterations are done, want %d", f.sawDone, tc.sawDone)
			}
			published := false
			for _, c := range f.controls {
				published = published || c.IterationsDone
			}
			if published != (tc.f.kind == IterationsShared) {
				t.Fatalf("controls %+v: IterationsDone published %v", f.controls, published)
			}
		})
	}
}

// TestIterationsDoneThenALoss: a shard lost after another was told none
// of the shared iterations is left still gets a replacement — the ledger
// hands it the lost shard's iterations not done — and the run ends with
// the replacement, not before.
func TestIterationsDoneThenALoss(t *testing.T) {
	f := &iterationShards{kind: IterationsShared, lose: 2}
	env := newEnv(t, f)
	startShards(env, 3, 0)
	env.ExecuteWorkflow(Run, RunInput{RunID: "r"})
	var out RunOutcome
	if err := env.GetWorkflowResult(&out); err != nil {
		t.Fatal(err)
	}
	if out.Status != "completed" || out.Reason != ReasonIterationsDone {
		t.Fatalf("outcome %+v", out)
	}
	if !slices.Contains(f.launched, 3) {
		t.Fatalf("shards launched %v: no replacement for lost shard 2", f.launched)
	}
	if !slices.Contains(f.sawDone, 3) {
		t.Fatalf("shards %v were told the iterations are done: not the replacement", f.sawDone)
	}
}
