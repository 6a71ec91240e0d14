package api

import (
	"context"
	"sync"

	"github.com/barrage/barrage/internal/store"
)

// Snapshots are written in batches, as a database commits in groups: a
// writer takes everything that queued while its last write ran and stores
// it in one transaction. At a low rate a snapshot is written at once, alone;
// under a fleet's burst the batches grow and the commits per second stay
// few. Each request still waits for its own snapshot to be stored.
const (
	snapshotWriters  = 2    // batches in flight at once
	snapshotBatchMax = 256  // snapshots in one transaction
	snapshotQueue    = 8192 // snapshots waiting for a writer
)

type snapshotWriter struct {
	st    store.Store
	queue chan *pendingSnapshot
	wg    sync.WaitGroup
	stop  chan struct{}
}

type pendingSnapshot struct {
	sn       store.Snapshot
	stored   func(inserted bool) // called once the snapshot's batch is committed
	done     chan struct{}
	inserted bool
	err      error
}

func newSnapshotWriter(st store.Store) *snapshotWriter {
	w := &snapshotWriter{st: st, queue: make(chan *pendingSnapshot, snapshotQueue), stop: make(chan struct{})}
	for range snapshotWriters {
		w.wg.Add(1)
		go labelled(LabelIngest, w.loop)
	}
	return w
}

// put stores sn with the next batch and says whether it was new; stored
// (not nil) is called once it is committed, whether or not ctx ended by
// then.
func (w *snapshotWriter) put(ctx context.Context, sn store.Snapshot, stored func(inserted bool)) (bool, error) {
	p := &pendingSnapshot{sn: sn, stored: stored, done: make(chan struct{})}
	select {
	case w.queue <- p:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	select {
	case <-p.done:
		return p.inserted, p.err
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

func (w *snapshotWriter) loop() {
	defer w.wg.Done()
	batch := make([]*pendingSnapshot, 0, snapshotBatchMax)
	snaps := make([]store.Snapshot, 0, snapshotBatchMax)
	for {
		batch, snaps = batch[:0], snaps[:0]
		select {
		case <-w.stop:
			return
		case p := <-w.queue:
			batch = append(batch, p)
		}
	more:
		for len(batch) < snapshotBatchMax {
			select {
			case p := <-w.queue:
				batch = append(batch, p)
			default:
				break more
			}
		}
		for _, p := range batch {
			snaps = append(snaps, p.sn)
		}
		w.write(batch, snaps)
	}
}

// write stores a batch; when the batch fails (a run deleted meanwhile, a
// snapshot the database refuses), each snapshot is tried alone, so that
// one request's failure is not its neighbours'.
func (w *snapshotWriter) write(batch []*pendingSnapshot, snaps []store.Snapshot) {
	ctx := context.Background()
	inserted, err := w.st.PutSnapshots(ctx, snaps)
	for i, p := range batch {
		switch {
		case err == nil:
			p.inserted = inserted[i]
		case len(batch) == 1:
			p.err = err
		default:
			p.inserted, p.err = w.st.PutSnapshot(ctx, &p.sn)
		}
		if p.err == nil {
			p.stored(p.inserted)
		}
		close(p.done)
	}
}

func (w *snapshotWriter) close() {
	close(w.stop)
	w.wg.Wait()
}
