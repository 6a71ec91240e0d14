package store

import (
	"testing"
	"time"
)

// benchDBs are the stores the benchmarks run on; Postgres skips without
// BARRAGE_TEST_PG.
var benchDBs = []struct {
	name string
	dsn  func(testing.TB) string
}{{"sqlite", sqliteTestDSN}, {"postgres", pgTestDSN}}

// benchRun opens a fresh store with scenario sc and run r.
func benchRun(b *testing.B, dsn string) Store {
	s := mustOpen(b, dsn)
	if err := s.CreateScenario(b.Context(), &Scenario{ID: "sc", Document: []byte(`{}`)}); err != nil {
		b.Fatal(err)
	}
	if err := s.CreateRun(b.Context(), &Run{ID: "r", ScenarioID: "sc", ScenarioVersion: 1}); err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkPutSnapshots measures batched ingest: one batch of 256 new
// 2 KiB snapshots per op, the most the API's batch writer puts in one.
func BenchmarkPutSnapshots(b *testing.B) {
	const batch = 256
	for _, db := range benchDBs {
		b.Run(db.name, func(b *testing.B) {
			s := benchRun(b, db.dsn(b))
			data := make([]byte, 2048)
			snaps := make([]Snapshot, batch)
			b.ResetTimer()
			for i := range b.N {
				for j := range snaps {
					snaps[j] = Snapshot{RunID: "r", Shard: j % 16, Seq: int64(i*batch + j), Interval: int64(i), Worker: "w", Data: data}
				}
				if _, err := s.PutSnapshots(b.Context(), snaps); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAppendEvents measures batched events: 64 per op, one run.
func BenchmarkAppendEvents(b *testing.B) {
	for _, db := range benchDBs {
		b.Run(db.name, func(b *testing.B) {
			s := benchRun(b, db.dsn(b))
			events := make([]Event, 64)
			for i := range events {
				events[i] = Event{RunID: "r", Kind: "worker_joined", Detail: "w1"}
			}
			b.ResetTimer()
			for range b.N {
				if _, err := s.AppendEvents(b.Context(), events); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFold measures what folding an interval asks of the store: read
// its 32 snapshots, store the folded interval (replacing the last one),
// and read what a live view lacks since the fold before.
func BenchmarkFold(b *testing.B) {
	const intervals, perInterval = 16, 32
	for _, db := range benchDBs {
		b.Run(db.name, func(b *testing.B) {
			s := benchRun(b, db.dsn(b))
			ctx := b.Context()
			data := make([]byte, 2048)
			snaps := make([]Snapshot, 0, intervals*perInterval)
			for k := range intervals * perInterval {
				snaps = append(snaps, Snapshot{RunID: "r", Shard: k % perInterval, Seq: int64(k), Interval: int64(k / perInterval), Worker: "w", Data: data})
			}
			if _, err := s.PutSnapshots(ctx, snaps); err != nil {
				b.Fatal(err)
			}
			since := time.Now()
			b.ResetTimer()
			for i := range b.N {
				k := int64(i % intervals)
				got, err := s.ListSnapshots(ctx, "r", k)
				if err != nil || len(got) != perInterval {
					b.Fatalf("list snapshots: %d, %v", len(got), err)
				}
				iv := &Interval{RunID: "r", Index: k, Start: since, End: since, Workers: 1, Snapshots: perInterval + i, Data: data, Summary: data}
				if err := s.PutInterval(ctx, iv); err != nil {
					b.Fatal(err)
				}
				if _, err := s.ListIntervalsChanged(ctx, "r", intervals-1, since, false, 0); err != nil {
					b.Fatal(err)
				}
				since = iv.FoldedAt
			}
		})
	}
}
