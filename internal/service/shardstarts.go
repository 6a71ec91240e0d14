package service

import (
	"context"
	"sync"
	"time"

	"github.com/barrage/barrage/internal/wire"
)

// Shard starts are relayed to the run's workflow as signals. A fleet
// starting together would send a thousand signals at once — a thousand
// history events and as many workflow tasks — so the starts of a run that
// arrive within shardBatchDelay go as one signal (SignalShardStates). Each
// request still waits for its signal, so a worker learns of a failure and
// retries.
const (
	shardBatchDelay = 100 * time.Millisecond
	shardBatchMax   = 500 // states in one signal (about 60 bytes each)
)

type shardStarts struct {
	signal func(ctx context.Context, workflowID string, batch []wire.ShardState) error
	mu     sync.Mutex
	runs   map[string]*shardBatch // the open batch of each run
}

type shardBatch struct {
	workflowID string
	states     []wire.ShardState
	done       chan struct{} // closed once the batch's signal is sent, or failed
	err        error
	timer      *time.Timer
}

func newShardStarts(signal func(ctx context.Context, workflowID string, batch []wire.ShardState) error) *shardStarts {
	return &shardStarts{signal: signal, runs: map[string]*shardBatch{}}
}

// relay adds a shard's start to its run's batch and waits until the batch
// is signalled.
func (ss *shardStarts) relay(ctx context.Context, runID, workflowID string, st wire.ShardState) error {
	ss.mu.Lock()
	b := ss.runs[runID]
	if b == nil {
		b = &shardBatch{workflowID: workflowID, done: make(chan struct{})}
		ss.runs[runID] = b
		b.timer = time.AfterFunc(shardBatchDelay, func() { ss.flush(runID, b) })
	}
	b.states = append(b.states, st)
	full := len(b.states) >= shardBatchMax
	if full {
		delete(ss.runs, runID) // the next start opens a new batch
	}
	ss.mu.Unlock()
	if full && b.timer.Stop() {
		go ss.flush(runID, b) // #nosec G118 -- the batch serves every shard in it: one caller's cancellation must not cancel the signal the others wait for; flush bounds it at 10 s
	}
	select {
	case <-b.done:
		return b.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// flush closes the batch to newcomers and signals it.
func (ss *shardStarts) flush(runID string, b *shardBatch) {
	ss.mu.Lock()
	if ss.runs[runID] == b {
		delete(ss.runs, runID)
	}
	states := b.states
	ss.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b.err = ss.signal(ctx, b.workflowID, states)
	close(b.done)
}
