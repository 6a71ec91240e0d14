package store

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// BenchmarkPutSnapshot measures ingest: one new 2 KiB snapshot per op,
// from one goroutine (serial) and from 8 at once (parallel), the shape of
// a server ingesting from many workers.
func BenchmarkPutSnapshot(b *testing.B) {
	for _, db := range []struct {
		name string
		dsn  func(testing.TB) string
	}{{"sqlite", sqliteTestDSN}, {"postgres", pgTestDSN}} {
		b.Run(db.name, func(b *testing.B) {
			for _, goroutines := range []int{1, 8} {
				b.Run(fmt.Sprintf("goroutines=%d", goroutines), func(b *testing.B) {
					benchPutSnapshot(b, mustOpen(b, db.dsn(b)), goroutines)
				})
			}
		})
	}
}

func benchPutSnapshot(b *testing.B, s Store, goroutines int) {
	ctx := b.Context()
	if err := s.CreateScenario(ctx, &Scenario{ID: "sc", Document: []byte(`{}`)}); err != nil {
		b.Fatal(err)
	}
	if err := s.CreateRun(ctx, &Run{ID: "r", ScenarioID: "sc", ScenarioVersion: 1}); err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 2048)
	var (
		seq atomic.Int64
		wg  sync.WaitGroup
	)
	b.ResetTimer()
	for range goroutines {
		wg.Go(func() {
			for n := seq.Add(1); n <= int64(b.N); n = seq.Add(1) {
				sn := &Snapshot{RunID: "r", Shard: int(n % 16), Seq: n, Interval: n / 16, Worker: "w", Data: data}
				if ok, err := s.PutSnapshot(ctx, sn); err != nil || !ok {
					b.Errorf("put %d: inserted %v, %v", n, ok, err)
					return
				}
			}
		})
	}
	wg.Wait()
}
