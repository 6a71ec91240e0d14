package hist

import (
	"errors"
	"testing"
)

// FuzzDecode: Decode never panics, fails only with its sentinels, and what
// it accepts re-encodes to a snapshot that decodes the same. Each input is
// also tried with its checksum repaired, or the fuzzer would spend its time
// on the checksum and never reach the parser.
func FuzzDecode(f *testing.F) {
	for _, b := range fuzzSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkDecode(t, b)
		checkDecode(t, reseal(b))
	})
}

func checkDecode(t *testing.T, b []byte) {
	s, err := Decode(b)
	checkInspectAgrees(t, b, s, err)
	if err != nil {
		if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrVersion) {
			t.Fatalf("Decode error wraps no sentinel: %v", err)
		}
		if s != nil {
			t.Fatal("Decode returned a snapshot along with an error")
		}
		return
	}
	again, err := s.MarshalBinary()
	if err != nil {
		t.Fatalf("decoded snapshot does not re-encode: %v", err)
	}
	s2, err := Decode(again)
	if err != nil {
		t.Fatalf("re-encoded snapshot does not decode: %v", err)
	}
	if d := diffSnapshots(s, s2); d != "" {
		t.Fatalf("re-encoding changed the snapshot: %s", d)
	}
}

// fuzzSeeds returns real encodings and damaged copies of them.
func fuzzSeeds(tb testing.TB) [][]byte {
	valid := [][]byte{
		validWire().bytes(),
		mustMarshal(tb, typicalSnapshot(tb, 1, 1, 200)),
		mustMarshal(tb, typicalSnapshot(tb, 2, 3, 50)),
		mustMarshal(tb, NewRecorder(2).Flush(t0, t0)),
		mustMarshal(tb, &Snapshot{Start: t0, End: t0}),
	}
	seeds := append([][]byte(nil), valid...)
	for _, b := range valid {
		flipped := append([]byte(nil), b...)
		flipped[len(flipped)/2] ^= 0x40
		seeds = append(seeds,
			b[:len(b)/2],            // truncated
			reseal(b[:len(b)-5]),    // truncated inside the checksum
			flipped,                 // bad checksum
			reseal(flipped),         // damaged but sealed
			reseal(append(b, 0, 0)), // trailing bytes
		)
	}
	return seeds
}

// checkInspectAgrees: Inspect accepts exactly what Decode accepts, with the
// same error, and reads the same snapshot but for the histograms.
func checkInspectAgrees(t *testing.T, b []byte, decoded *Snapshot, decodeErr error) {
	t.Helper()
	got, err := Inspect(b)
	if (err == nil) != (decodeErr == nil) || err != nil && err.Error() != decodeErr.Error() {
		t.Fatalf("Inspect error %v, Decode error %v", err, decodeErr)
	}
	if err != nil {
		return
	}
	want := decoded.Clone()
	for i := range want.Steps {
		want.Steps[i].Latency = nil
	}
	if d := diffSnapshots(got, want); d != "" {
		t.Fatalf("Inspect read another snapshot than Decode: %s", d)
	}
}
