package hist

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// TestAccumulatorIsFold: folding encodings with an Accumulator gives what
// Decode and Fold give — counters, maps, histograms, percentiles, Total —
// and its encoding is byte for byte what MarshalBinary writes of that fold.
func TestAccumulatorIsFold(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		steps := rapid.IntRange(1, 4).Draw(t, "steps")
		k := rapid.IntRange(1, 6).Draw(t, "shards")
		samples := randomSamples(rapid.Uint64().Draw(t, "seed"), rapid.IntRange(0, 3000).Draw(t, "samples"))
		recs := make([]*Recorder, k)
		for i := range recs {
			recs[i] = NewRecorder(steps)
		}
		for _, s := range samples {
			recs[s.shard%k].Record(s.step%steps, s.res)
		}
		var acc Accumulator
		decoded := make([]*Snapshot, k)
		for i, rec := range recs {
			rec.AddDropped(uint64(i))
			s := rec.Flush(t0.Add(time.Duration(i)*time.Millisecond), t0.Add(time.Second+time.Duration(i)))
			s.RunID, s.Worker, s.Shard, s.Seq, s.ActiveVUs, s.TargetVUs = "run", "w", uint32(i), 1, uint32(i+1), 7
			b, err := s.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if decoded[i], err = Decode(b); err != nil {
				t.Fatal(err)
			}
			if _, err := acc.Add(b); err != nil {
				t.Fatalf("Add shard %d: %v", i, err)
			}
		}
		want, err := Fold(decoded)
		if err != nil {
			t.Fatal(err)
		}
		got := acc.Snapshot()
		if d := diffSnapshots(got, want); d != "" {
			t.Fatalf("Snapshot differs from Fold: %s", d)
		}
		for i := range want.Steps {
			if d := diffQuantiles(&got.Steps[i], &want.Steps[i]); d != "" {
				t.Fatalf("step %d: %s", i, d)
			}
		}
		gotTotal, wantTotal := acc.Total(), want.Total()
		if d := diffSteps(&gotTotal, &wantTotal); d != "" {
			t.Fatalf("Total: %s", d)
		}
		if d := diffQuantiles(&gotTotal, &wantTotal); d != "" {
			t.Fatalf("Total: %s", d)
		}
		header := want.Clone()
		header.Worker, header.Seq = "folded", 0
		wantBytes, err := header.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		gotBytes, err := acc.AppendBinary([]byte("prefix"), header)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(gotBytes[len("prefix"):], wantBytes) {
			t.Fatalf("AppendBinary wrote %d bytes unlike MarshalBinary's %d", len(gotBytes)-len("prefix"), len(wantBytes))
		}
	})
}

// TestAccumulatorRefusesWithoutChange: an encoding that is corrupt, of
// another run or shape, or that overflows a sum is refused, and the fold
// stays exactly as it was.
func TestAccumulatorRefusesWithoutChange(t *testing.T) {
	good := typicalSnapshot(t, 1, 3, 500)
	otherRun := typicalSnapshot(t, 2, 3, 10)
	otherRun.RunID = "another"
	otherShape := typicalSnapshot(t, 3, 2, 10)
	huge := typicalSnapshot(t, 4, 3, 10)
	huge.Dropped = 1 << 63
	corrupt := mustMarshal(t, typicalSnapshot(t, 5, 3, 10))
	corrupt[len(corrupt)/2] ^= 0xff

	var acc Accumulator
	if _, err := acc.Add(mustMarshal(t, good)); err != nil {
		t.Fatal(err)
	}
	overflow := mustMarshal(t, huge) // 3 + 2^63 dropped fits; twice does not
	if _, err := acc.Add(overflow); err != nil {
		t.Fatal(err)
	}
	before := mustMarshal(t, acc.Snapshot())
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{
		{"corrupt", corrupt, ErrCorrupt},
		{"other run", mustMarshal(t, otherRun), ErrMismatch},
		{"other steps", mustMarshal(t, otherShape), ErrMismatch},
		{"overflow", overflow, ErrOverflow},
		{"empty", nil, ErrCorrupt},
	} {
		if _, err := acc.Add(tc.b); !errors.Is(err, tc.want) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.want)
		}
		if after := mustMarshal(t, acc.Snapshot()); !bytes.Equal(after, before) {
			t.Fatalf("%s: the refused encoding changed the fold", tc.name)
		}
	}
	if acc.Len() != 2 {
		t.Errorf("Len = %d, want 2", acc.Len())
	}
}

// TestAccumulatorReset: a reset fold starts from nothing, whatever it held.
func TestAccumulatorReset(t *testing.T) {
	var acc Accumulator
	if acc.Snapshot() != nil {
		t.Fatal("an empty fold has a snapshot")
	}
	if _, err := acc.Add(mustMarshal(t, typicalSnapshot(t, 1, 3, 800))); err != nil {
		t.Fatal(err)
	}
	acc.Reset()
	second := typicalSnapshot(t, 2, 2, 300)
	second.RunID = "other-run"
	if _, err := acc.Add(mustMarshal(t, second)); err != nil {
		t.Fatalf("after Reset, a fold of another run and shape: %v", err)
	}
	want, err := Fold([]*Snapshot{second})
	if err != nil {
		t.Fatal(err)
	}
	if d := diffSnapshots(acc.Snapshot(), want); d != "" {
		t.Fatalf("after Reset: %s", d)
	}
}

// TestAccumulatorNoGauges: folding many intervals of a large fleet (a
// report) leaves the VU gauges out rather than overflowing them.
func TestAccumulatorNoGauges(t *testing.T) {
	s := typicalSnapshot(t, 1, 2, 50)
	s.ActiveVUs, s.TargetVUs = 50_000_000, 50_000_000
	b := mustMarshal(t, s)
	var with, without Accumulator
	without.NoGauges = true
	overflowed := false
	for range 100 {
		if _, err := with.Add(b); errors.Is(err, ErrOverflow) {
			overflowed = true
		}
		if _, err := without.Add(b); err != nil {
			t.Fatalf("NoGauges: %v", err)
		}
	}
	if !overflowed {
		t.Fatal("summing 100 × 50 M VUs did not overflow: the test proves nothing")
	}
	h := without.Header()
	if without.Len() != 100 || h.ActiveVUs != 0 || h.TargetVUs != 0 || h.Dropped != 300 {
		t.Fatalf("NoGauges fold: %d snapshots, header %+v", without.Len(), h)
	}
}
