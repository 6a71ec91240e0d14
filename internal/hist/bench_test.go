package hist

import (
	"math/rand/v2"
	"testing"
	"time"
)

func BenchmarkRecord(b *testing.B) {
	rec := NewRecorder(4)
	rng := rand.New(rand.NewPCG(1, 2))
	lat := make([]time.Duration, 1024)
	for i := range lat {
		lat[i] = typicalLatency(rng)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		rec.Record(i&3, Result{Latency: lat[i&1023], Status: 200, BytesSent: 300, BytesReceived: 2048})
	}
}

// BenchmarkRecordParallel: virtual users on GOMAXPROCS goroutines spread
// over four steps, the contention a shard sees.
func BenchmarkRecordParallel(b *testing.B) {
	rec := NewRecorder(4)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewPCG(rand.Uint64(), 2))
		for i := 0; pb.Next(); i++ {
			rec.Record(i&3, Result{Latency: typicalLatency(rng), Status: 200, BytesSent: 300, BytesReceived: 2048})
		}
	})
}

// BenchmarkFlush: the steady state of a 4-step shard, Flush then Release,
// with a little traffic in between so that the maps are not empty.
func BenchmarkFlush(b *testing.B) {
	const steps = 4
	rec := NewRecorder(steps)
	b.ReportAllocs()
	for b.Loop() {
		for i := range steps {
			rec.Record(i, Result{Latency: time.Millisecond, Status: 200})
			rec.Record(i, Result{Latency: time.Second, Status: 503, Class: ClassHTTP5xx})
		}
		rec.Release(rec.Flush(t0, t0.Add(time.Second)))
	}
}

func BenchmarkMarshal(b *testing.B) {
	s := typicalSnapshot(b, 1, 1, 2000)
	b.ReportAllocs()
	var n int
	for b.Loop() {
		n = len(mustMarshal(b, s))
	}
	b.ReportMetric(float64(n), "bytes/snapshot")
}

func BenchmarkDecode(b *testing.B) {
	enc := mustMarshal(b, typicalSnapshot(b, 1, 1, 2000))
	b.ReportAllocs()
	b.SetBytes(int64(len(enc)))
	for b.Loop() {
		if _, err := Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFold: one interval of 4 shards, 2000 samples each over 2 steps.
func BenchmarkFold(b *testing.B) {
	snaps := make([]*Snapshot, 4)
	for i := range snaps {
		snaps[i] = typicalSnapshot(b, uint64(i), 2, 2000)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Fold(snaps); err != nil {
			b.Fatal(err)
		}
	}
}

// fleetInterval is one interval of a large fleet as the server receives it:
// workers encodings of 5 steps with 500 requests each.
func fleetInterval(b *testing.B, workers int) [][]byte {
	encs := make([][]byte, workers)
	for i := range encs {
		s := typicalSnapshot(b, uint64(i%64), 5, 500)
		s.Shard, s.Seq = uint32(i), 1
		encs[i] = mustMarshal(b, s)
	}
	return encs
}

// BenchmarkFoldFleetDecode folds a 1,000-worker interval the old way:
// decode every snapshot (a histogram per step each), Fold, Total.
func BenchmarkFoldFleetDecode(b *testing.B) {
	encs := fleetInterval(b, 1000)
	b.ReportAllocs()
	for b.Loop() {
		snaps := make([]*Snapshot, len(encs))
		for i, e := range encs {
			var err error
			if snaps[i], err = Decode(e); err != nil {
				b.Fatal(err)
			}
		}
		f, err := Fold(snaps)
		if err != nil {
			b.Fatal(err)
		}
		_ = f.Total()
	}
}

// BenchmarkFoldFleetAccumulate folds the same interval from the wire
// format and encodes the result, as the server stores it.
func BenchmarkFoldFleetAccumulate(b *testing.B) {
	encs := fleetInterval(b, 1000)
	var acc Accumulator
	var out []byte
	b.ReportAllocs()
	for b.Loop() {
		acc.Reset()
		for _, e := range encs {
			if _, err := acc.Add(e); err != nil {
				b.Fatal(err)
			}
		}
		_ = acc.Total()
		h := acc.Header()
		var err error
		if out, err = acc.AppendBinary(out[:0], &h); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInspect validates one snapshot as ingest does.
func BenchmarkInspect(b *testing.B) {
	enc := mustMarshal(b, typicalSnapshot(b, 1, 5, 500))
	b.ReportAllocs()
	b.SetBytes(int64(len(enc)))
	for b.Loop() {
		if _, err := Inspect(enc); err != nil {
			b.Fatal(err)
		}
	}
}
