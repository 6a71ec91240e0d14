package api

import (
	"context"
	"sync"

	"github.com/barrage/barrage/internal/store"
)

// Writes that come in bursts (a fleet's snapshots every second, its shards'
// events as they start and end together) go to the database in batches, as
// a database commits in groups: a writer takes everything that queued while
// its last write ran and stores it in one transaction. At a low rate an
// item is written at once, alone; under a burst the batches grow and the
// commits per second stay few, and the burst does not hold every pooled
// connection. Each request still waits for its own item to be stored.
const (
	snapshotWriters  = 2    // snapshot batches in flight at once
	snapshotBatchMax = 256  // snapshots in one transaction
	snapshotQueue    = 8192 // snapshots waiting for a writer
	eventWriters     = 1    // one at a time: a run's events take its row lock
	eventBatchMax    = 256
	eventQueue       = 4096
)

// batchWriter writes items of type In in batches with many, or one by one
// with one when a batch fails, each giving an Out (was a snapshot new, an
// event's seq).
type batchWriter[In, Out any] struct {
	many  func(context.Context, []In) ([]Out, error)
	one   func(context.Context, In) (Out, error)
	max   int
	queue chan *pending[In, Out]
	wg    sync.WaitGroup
	stop  chan struct{}
}

type pending[In, Out any] struct {
	in     In
	stored func(Out) // called once the item is committed (may be nil)
	done   chan struct{}
	out    Out
	err    error
}

func newBatchWriter[In, Out any](writers, max, queue int, many func(context.Context, []In) ([]Out, error), one func(context.Context, In) (Out, error)) *batchWriter[In, Out] {
	w := &batchWriter[In, Out]{many: many, one: one, max: max, queue: make(chan *pending[In, Out], queue), stop: make(chan struct{})}
	for range writers {
		w.wg.Add(1)
		go labelled(LabelIngest, w.loop)
	}
	return w
}

func newSnapshotWriter(st store.Store) *batchWriter[store.Snapshot, bool] {
	return newBatchWriter(snapshotWriters, snapshotBatchMax, snapshotQueue, st.PutSnapshots,
		func(ctx context.Context, sn store.Snapshot) (bool, error) { return st.PutSnapshot(ctx, &sn) })
}

func newEventWriter(st store.Store) *batchWriter[store.Event, int64] {
	return newBatchWriter(eventWriters, eventBatchMax, eventQueue, st.AppendEvents, st.AppendEvent)
}

// put writes in with the next batch and returns its Out; stored (when not
// nil) is called once it is committed, whether or not ctx ended by then.
func (w *batchWriter[In, Out]) put(ctx context.Context, in In, stored func(Out)) (Out, error) {
	p := &pending[In, Out]{in: in, stored: stored, done: make(chan struct{})}
	var zero Out
	select {
	case w.queue <- p:
	case <-ctx.Done():
		return zero, ctx.Err()
	}
	select {
	case <-p.done:
		return p.out, p.err
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

func (w *batchWriter[In, Out]) loop() {
	defer w.wg.Done()
	batch := make([]*pending[In, Out], 0, w.max)
	ins := make([]In, 0, w.max)
	for {
		batch, ins = batch[:0], ins[:0]
		select {
		case <-w.stop:
			return
		case p := <-w.queue:
			batch = append(batch, p)
		}
	more:
		for len(batch) < w.max {
			select {
			case p := <-w.queue:
				batch = append(batch, p)
			default:
				break more
			}
		}
		for _, p := range batch {
			ins = append(ins, p.in)
		}
		w.write(batch, ins)
	}
}

// write stores a batch; when the batch fails (a run deleted meanwhile, an
// item the database refuses), each item is tried alone, so that one
// request's failure is not its neighbours'.
func (w *batchWriter[In, Out]) write(batch []*pending[In, Out], ins []In) {
	ctx := context.Background()
	outs, err := w.many(ctx, ins)
	for i, p := range batch {
		switch {
		case err == nil:
			p.out = outs[i]
		case len(batch) == 1:
			p.err = err
		default:
			p.out, p.err = w.one(ctx, p.in)
		}
		if p.err == nil && p.stored != nil {
			p.stored(p.out)
		}
		close(p.done)
	}
}

func (w *batchWriter[In, Out]) close() {
	close(w.stop)
	w.wg.Wait()
}
