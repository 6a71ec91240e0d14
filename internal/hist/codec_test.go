package hist

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// wireSnap is the encoding spelled out field by field, so that a test can
// write what MarshalBinary never would.
type wireSnap struct {
	version                 byte
	runID, worker           string
	shard, attempt, seq     uint64
	start, end              int64
	active, target, dropped uint64
	iterations              uint64 // written from version 2 on
	steps                   []wireStep
	stepCount               *uint64 // overrides len(steps)
	trailing                []byte  // after the last step, inside the checksum
}

type wireStep struct {
	counters [7]uint64 // in counterFields order
	status   [][2]uint64
	classes  [][2]uint64
	geometry [3]uint64
	entries  []int64 // without the terminating 0
	raw      []byte  // replaces the encoded step when set
}

// validWire is a consistent one-step snapshot: 3 requests, one a 5xx.
func validWire() wireSnap {
	return wireSnap{
		version: formatV1, runID: "run-1", worker: "w-1", shard: 2, attempt: 1, seq: 7,
		start: t0.UnixNano(), end: t0.Add(time.Second).UnixNano(), active: 10, target: 10,
		steps: []wireStep{{
			counters: [7]uint64{3, 1, 300, 3000, 3, 0, 0},
			status:   [][2]uint64{{200, 2}, {500, 1}},
			classes:  [][2]uint64{{uint64(ClassHTTP5xx), 1}},
			geometry: [3]uint64{LowestMicros, HighestMicros, SigFigs},
			entries:  []int64{-5000, 2, -100, 1},
		}},
	}
}

func (w wireSnap) bytes() []byte {
	b := append([]byte(magic), w.version)
	b = appendString(b, w.runID)
	b = appendString(b, w.worker)
	for _, v := range []uint64{w.shard, w.attempt, w.seq} {
		b = binary.AppendUvarint(b, v)
	}
	b = binary.AppendVarint(b, w.start)
	b = binary.AppendVarint(b, w.end)
	for _, v := range []uint64{w.active, w.target, w.dropped} {
		b = binary.AppendUvarint(b, v)
	}
	if w.version >= formatVersion {
		b = binary.AppendUvarint(b, w.iterations)
	}
	n := uint64(len(w.steps))
	if w.stepCount != nil {
		n = *w.stepCount
	}
	b = binary.AppendUvarint(b, n)
	for _, st := range w.steps {
		b = st.append(b)
	}
	b = append(b, w.trailing...)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

func (st wireStep) append(b []byte) []byte {
	if st.raw != nil {
		return append(b, st.raw...)
	}
	for _, v := range st.counters {
		b = binary.AppendUvarint(b, v)
	}
	for _, pairs := range [][][2]uint64{st.status, st.classes} {
		b = binary.AppendUvarint(b, uint64(len(pairs)))
		for _, p := range pairs {
			b = binary.AppendUvarint(b, p[0])
			b = binary.AppendUvarint(b, p[1])
		}
	}
	for _, v := range st.geometry {
		b = binary.AppendUvarint(b, v)
	}
	for _, e := range st.entries {
		b = binary.AppendVarint(b, e)
	}
	return binary.AppendVarint(b, 0)
}

func TestWireBuilderMatchesFormat(t *testing.T) {
	s, err := Decode(validWire().bytes())
	if err != nil {
		t.Fatalf("Decode(validWire) = %v", err)
	}
	h := s.Steps[0].Latency
	if h.TotalCount() != 3 || h.Min() != valueAtIndex(5000) || Percentile(h, 100) != h.Max() {
		t.Errorf("histogram min %d, total %d", h.Min(), h.TotalCount())
	}
	if s.Shard != 2 || s.Seq != 7 || s.Steps[0].Status[500] != 1 || s.Steps[0].Classes[ClassHTTP5xx] != 1 {
		t.Errorf("decoded %+v", s)
	}
	again := mustMarshal(t, s)
	if string(again) != string(validWire().bytes()) {
		t.Error("MarshalBinary does not reproduce the canonical bytes")
	}
}

// TestIterationsVersion: a snapshot with iterations is written as version
// 2 with the count after Dropped; one without is written as version 1,
// the bytes earlier releases wrote, and both decode.
func TestIterationsVersion(t *testing.T) {
	w := validWire()
	w.version, w.iterations = formatVersion, 41
	s, err := Decode(w.bytes())
	if err != nil {
		t.Fatalf("Decode(version 2) = %v", err)
	}
	if s.Iterations != 41 {
		t.Errorf("Iterations = %d, want 41", s.Iterations)
	}
	if again := mustMarshal(t, s); string(again) != string(w.bytes()) {
		t.Error("MarshalBinary does not write version 2 with the iterations")
	}
	s.Iterations = 0
	if b := mustMarshal(t, s); b[len(magic)] != formatV1 || string(b) != string(validWire().bytes()) {
		t.Errorf("a snapshot without iterations is written as version %d, not the version 1 bytes", b[len(magic)])
	}
	// Folding sums them.
	a, b := s.Clone(), s.Clone()
	a.Iterations, b.Iterations = 3, 4
	f, err := Fold([]*Snapshot{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if f.Iterations != 7 {
		t.Errorf("folded Iterations = %d, want 7", f.Iterations)
	}
	var acc Accumulator
	for _, x := range []*Snapshot{a, b} {
		if _, err := acc.Add(mustMarshal(t, x)); err != nil {
			t.Fatal(err)
		}
	}
	if h := acc.Header(); h.Iterations != 7 {
		t.Errorf("accumulated Iterations = %d, want 7", h.Iterations)
	}
}

// wireEdit changes one field of a wire snapshot.
type wireEdit func(w *wireSnap)

type rejectCase struct {
	name    string
	edit    wireEdit              // applied to validWire
	bytes   func(b []byte) []byte // applied to the encoding
	wantErr error
	wantMsg string
}

// rejectCases damage validWire one way each; Decode must name the damage.
func rejectCases() []rejectCase {
	step := func(f func(st *wireStep)) wireEdit { return func(w *wireSnap) { f(&w.steps[0]) } }
	u64 := func(v uint64) *uint64 { return &v }
	return []rejectCase{
		{name: "empty", bytes: func([]byte) []byte { return nil }, wantErr: ErrCorrupt, wantMsg: "truncated"},
		{name: "oversized", bytes: func(b []byte) []byte { return make([]byte, MaxEncodedSize+1) }, wantErr: ErrTooLarge, wantMsg: "limit"},
		{name: "wrong magic", bytes: func(b []byte) []byte { b[0] = 'X'; return b }, wantErr: ErrCorrupt, wantMsg: "magic"},
		{name: "unknown version", edit: func(w *wireSnap) { w.version = 3 }, wantErr: ErrVersion, wantMsg: "version 3"},
		{name: "version 0", edit: func(w *wireSnap) { w.version = 0 }, wantErr: ErrVersion, wantMsg: "version 0"},
		{name: "version 2 without iterations", edit: func(w *wireSnap) { w.version = formatVersion }, wantErr: ErrCorrupt, wantMsg: "version 2 without iterations"},
		{name: "bad checksum", bytes: func(b []byte) []byte { b[7] ^= 1; return b }, wantErr: ErrCorrupt, wantMsg: "checksum"},
		{name: "truncated, unsealed", bytes: func(b []byte) []byte { return b[:len(b)-3] }, wantErr: ErrCorrupt, wantMsg: "checksum"},
		{name: "truncated, resealed", bytes: func(b []byte) []byte { return reseal(b[:len(b)-6]) }, wantErr: ErrCorrupt, wantMsg: "truncated"},
		{name: "trailing bytes", edit: func(w *wireSnap) { w.trailing = []byte{0} }, wantErr: ErrCorrupt, wantMsg: "trailing"},
		{name: "long run id", edit: func(w *wireSnap) { w.runID = strings.Repeat("r", MaxStringLen+1) }, wantErr: ErrTooLarge, wantMsg: "run id"},
		{name: "worker not UTF-8", edit: func(w *wireSnap) { w.worker = "w\xff" }, wantErr: ErrCorrupt, wantMsg: "UTF-8"},
		{name: "string longer than input", bytes: func(b []byte) []byte { b[5] = 100; return reseal(b) }, wantErr: ErrCorrupt, wantMsg: "truncated run id"},
		{name: "shard over 32 bits", edit: func(w *wireSnap) { w.shard = math.MaxUint32 + 1 }, wantErr: ErrCorrupt, wantMsg: "shard"},
		{name: "start after end", edit: func(w *wireSnap) { w.start = w.end + 1 }, wantErr: ErrCorrupt, wantMsg: "after end"},
		{name: "too many steps", edit: func(w *wireSnap) { w.stepCount = u64(MaxSteps + 1) }, wantErr: ErrTooLarge, wantMsg: "1025 steps"},
		{name: "more steps than bytes", edit: func(w *wireSnap) { w.stepCount = u64(1000) }, wantErr: ErrCorrupt, wantMsg: "1000 steps in"},
		{name: "counter overflows 64 bits", edit: step(func(st *wireStep) { st.raw = []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01} }), wantErr: ErrCorrupt, wantMsg: "overflows 64 bits"},
		{name: "status code out of range", edit: step(func(st *wireStep) { st.status[1][0] = 1000 }), wantErr: ErrCorrupt, wantMsg: "out of range 0..999"},
		{name: "status codes repeated", edit: step(func(st *wireStep) { st.status[1][0] = 200 }), wantErr: ErrCorrupt, wantMsg: "out of order"},
		{name: "status zero count", edit: step(func(st *wireStep) { st.status = append(st.status, [2]uint64{600, 0}) }), wantErr: ErrCorrupt, wantMsg: "zero count"},
		{name: "status entries beyond input", edit: step(func(st *wireStep) { st.raw = []byte{0, 0, 0, 0, 0, 0, 0, 0xf4, 0x03} }), wantErr: ErrCorrupt, wantMsg: "500 status entries in 0 bytes"},
		{name: "status sum differs from requests", edit: step(func(st *wireStep) { st.status[0][1] = 1 }), wantErr: ErrCorrupt, wantMsg: "status counts sum to 2"},
		{name: "unknown error class", edit: step(func(st *wireStep) { st.classes[0][0] = uint64(NumClasses) }), wantErr: ErrCorrupt, wantMsg: "error class 11 out of range"},
		{name: "ClassNone as an error", edit: step(func(st *wireStep) { st.classes[0][0] = 0 }), wantErr: ErrCorrupt, wantMsg: "not an error class"},
		{name: "class sum differs from errors", edit: step(func(st *wireStep) { st.counters[1] = 2 }), wantErr: ErrCorrupt, wantMsg: "class counts sum to 1 for 2"},
		{name: "more errors than requests", edit: step(func(st *wireStep) { st.counters[1] = 4; st.classes[0][1] = 4 }), wantErr: ErrCorrupt, wantMsg: "exceed 3 requests"},
		{name: "more clamped than requests", edit: step(func(st *wireStep) { st.counters[6] = 4 }), wantErr: ErrCorrupt, wantMsg: "exceed 3 requests"},
		{name: "histogram highest differs", edit: step(func(st *wireStep) { st.geometry[1] = 3_600_000_000 }), wantErr: ErrCorrupt, wantMsg: "geometry"},
		{name: "histogram digits differ", edit: step(func(st *wireStep) { st.geometry[2] = 2 }), wantErr: ErrCorrupt, wantMsg: "geometry"},
		{name: "histogram skip out of range", edit: step(func(st *wireStep) { st.entries = []int64{-maxIndex - 1, 3} }), wantErr: ErrCorrupt, wantMsg: "index out of range"},
		{name: "histogram huge skip", edit: step(func(st *wireStep) { st.entries = []int64{math.MinInt64, 3} }), wantErr: ErrCorrupt, wantMsg: "index out of range"},
		{name: "histogram count past the last index", edit: step(func(st *wireStep) { st.entries = []int64{-maxIndex, 2, 1} }), wantErr: ErrCorrupt, wantMsg: "index 17910 out of range"},
		{name: "histogram two skips", edit: step(func(st *wireStep) { st.entries = []int64{-1, -1, 3} }), wantErr: ErrCorrupt, wantMsg: "two skips"},
		{name: "histogram ends with a skip", edit: step(func(st *wireStep) { st.entries = []int64{3, -1} }), wantErr: ErrCorrupt, wantMsg: "ends with a skip"},
		{name: "histogram total differs from requests", edit: step(func(st *wireStep) { st.entries = []int64{2} }), wantErr: ErrCorrupt, wantMsg: "holds 2 samples for 3"},
		{name: "histogram counts overflow", edit: step(func(st *wireStep) { st.entries = []int64{math.MaxInt64, 1} }), wantErr: ErrCorrupt, wantMsg: "histogram counts overflow"},
		{name: "histogram without terminator", bytes: func(b []byte) []byte { return reseal(append(b[:len(b)-5], b[len(b)-4:]...)) }, wantErr: ErrCorrupt, wantMsg: "truncated histogram entry"},
		{name: "counters overflow summed over steps", edit: func(w *wireSnap) {
			w.steps[0].counters[2] = math.MaxUint64
			w.steps = append(w.steps, w.steps[0])
		}, wantErr: ErrCorrupt, wantMsg: "summed over steps overflow"},
		{name: "requests over int64 summed over steps", edit: func(w *wireSnap) {
			huge := wireStep{
				counters: [7]uint64{math.MaxInt64, 0, 0, 0, 0, 0, 0},
				status:   [][2]uint64{{200, math.MaxInt64}},
				geometry: [3]uint64{LowestMicros, HighestMicros, SigFigs},
				entries:  []int64{math.MaxInt64},
			}
			w.steps = []wireStep{huge, huge}
		}, wantErr: ErrCorrupt, wantMsg: "summed over steps overflow"},
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, tt := range rejectCases() {
		t.Run(tt.name, func(t *testing.T) {
			w := validWire()
			if tt.edit != nil {
				tt.edit(&w)
			}
			b := w.bytes()
			if tt.bytes != nil {
				b = tt.bytes(b)
			}
			s, err := Decode(b)
			if !errors.Is(err, tt.wantErr) || !strings.Contains(fmtErr(err), tt.wantMsg) {
				t.Fatalf("Decode error = %v, want %v containing %q", err, tt.wantErr, tt.wantMsg)
			}
			if s != nil {
				t.Error("Decode returned a snapshot along with an error")
			}
		})
	}
}

func TestMarshalRefusesInvalid(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(s *Snapshot)
		wantErr error
		wantMsg string
	}{
		{name: "no histogram", edit: func(s *Snapshot) { s.Steps[0].Latency = nil }, wantErr: ErrInvalid, wantMsg: "no latency histogram"},
		{name: "foreign geometry", edit: func(s *Snapshot) { s.Steps[0].Latency = hdrhistogram.New(1, 1000, 2) }, wantErr: ErrInvalid, wantMsg: "geometry"},
		{name: "requests disagree with histogram", edit: func(s *Snapshot) { s.Steps[0].Requests++ }, wantErr: ErrInvalid, wantMsg: "samples for"},
		{name: "latency above the highest", edit: func(s *Snapshot) {
			_ = s.Steps[0].Latency.RecordValue(120_000_000)
			s.Steps[0].Requests++
			s.Steps[0].Status[200]++
		}, wantErr: ErrInvalid, wantMsg: "above"},
		{name: "zero time", edit: func(s *Snapshot) { s.Start = time.Time{} }, wantErr: ErrInvalid, wantMsg: "not representable"},
		{name: "start after end", edit: func(s *Snapshot) { s.Start = s.End.Add(time.Nanosecond) }, wantErr: ErrInvalid, wantMsg: "after end"},
		{name: "status out of range", edit: func(s *Snapshot) { s.Steps[0].Status[200]--; s.Steps[0].Status[1000]++ }, wantErr: ErrInvalid, wantMsg: "status code 1000"},
		{name: "ClassNone counted", edit: func(s *Snapshot) { s.Steps[0].Classes[ClassNone] = 1; s.Steps[0].Errors++ }, wantErr: ErrInvalid, wantMsg: "not an error class"},
		{name: "long worker", edit: func(s *Snapshot) { s.Worker = strings.Repeat("w", MaxStringLen+1) }, wantErr: ErrTooLarge, wantMsg: "worker"},
		{name: "run id not UTF-8", edit: func(s *Snapshot) { s.RunID = "\xc3" }, wantErr: ErrInvalid, wantMsg: "UTF-8"},
		{name: "too many steps", edit: func(s *Snapshot) { s.Steps = make([]StepStats, MaxSteps+1) }, wantErr: ErrTooLarge, wantMsg: "steps"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := typicalSnapshot(t, 9, 1, 100)
			tt.edit(s)
			b, err := s.MarshalBinary()
			if !errors.Is(err, tt.wantErr) || !strings.Contains(fmtErr(err), tt.wantMsg) {
				t.Fatalf("MarshalBinary error = %v, want %v containing %q", err, tt.wantErr, tt.wantMsg)
			}
			if b != nil {
				t.Error("MarshalBinary returned bytes along with an error")
			}
		})
	}
}

func TestRoundTripExamples(t *testing.T) {
	tests := []struct {
		name string
		snap func() *Snapshot
	}{
		{name: "typical", snap: func() *Snapshot { return typicalSnapshot(t, 1, 3, 2000) }},
		{name: "no steps", snap: func() *Snapshot { return &Snapshot{RunID: "r", Start: t0, End: t0} }},
		{name: "empty steps", snap: func() *Snapshot { return NewRecorder(4).Flush(t0, t0) }},
		{name: "folded", snap: func() *Snapshot {
			f, err := Fold([]*Snapshot{typicalSnapshot(t, 1, 2, 100), typicalSnapshot(t, 2, 2, 100)})
			if err != nil {
				t.Fatal(err)
			}
			return f
		}},
		{name: "extremes", snap: func() *Snapshot {
			rec := NewRecorder(1)
			rec.Record(0, Result{Latency: 0, Status: 0, Class: ClassOther})
			rec.Record(0, Result{Latency: time.Hour, Status: MaxStatus, BytesSent: math.MaxInt64})
			s := rec.Flush(time.Unix(0, math.MinInt64), time.Unix(0, math.MaxInt64))
			s.RunID, s.Worker = strings.Repeat("é", MaxStringLen/2), "ω"
			s.Shard, s.Attempt, s.Seq = math.MaxUint32, math.MaxUint32, math.MaxUint64
			s.ActiveVUs, s.TargetVUs, s.Dropped = math.MaxUint32, math.MaxUint32, math.MaxUint64
			return s
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.snap()
			got, err := Decode(mustMarshal(t, s))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if d := diffSnapshots(s, got); d != "" {
				t.Error(d)
			}
		})
	}
}

// TestEncodedSize logs the size of a typical one-step snapshot and guards
// against the encoding growing by accident.
func TestEncodedSize(t *testing.T) {
	b := mustMarshal(t, typicalSnapshot(t, 1, 1, 2000))
	t.Logf("one step, 2000 samples: %d bytes", len(b))
	if len(b) > 4096 {
		t.Errorf("typical snapshot encodes to %d bytes", len(b))
	}
}

func TestAppendBinary(t *testing.T) {
	s := typicalSnapshot(t, 3, 2, 300)
	prefix := []byte("framing")
	b, err := s.AppendBinary(append([]byte(nil), prefix...))
	if err != nil {
		t.Fatal(err)
	}
	if string(b[:len(prefix)]) != string(prefix) || string(b[len(prefix):]) != string(mustMarshal(t, s)) {
		t.Error("AppendBinary does not append MarshalBinary's bytes")
	}
}

// TestMarshalRefusesOversized: whatever MarshalBinary returns must decode,
// so an encoding past MaxEncodedSize is an error, not a surprise at the
// server.
func TestMarshalRefusesOversized(t *testing.T) {
	rec := NewRecorder(MaxSteps)
	for step := range MaxSteps {
		for i := range 600 { // ~2.5 bytes each: distinct, spaced-out indexes
			rec.Record(step, Result{Latency: time.Duration(1+2*i) * time.Millisecond, Status: 200})
		}
	}
	_, err := rec.Flush(t0, t0).MarshalBinary()
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(fmtErr(err), "encoding is") {
		t.Errorf("MarshalBinary error = %v, want %v", err, ErrTooLarge)
	}
}

// TestDecodeChecksClaimsFirst: a short input claiming big lengths is
// rejected before anything is allocated for them.
func TestDecodeChecksClaimsFirst(t *testing.T) {
	tests := []struct {
		name  string
		bytes func() []byte
	}{
		{name: "steps", bytes: func() []byte {
			w := validWire()
			n := uint64(MaxSteps)
			w.steps, w.stepCount = nil, &n
			return w.bytes()
		}},
		{name: "status entries", bytes: func() []byte {
			w := validWire()
			w.steps[0].raw = []byte{3, 1, 0, 0, 0, 0, 0, 0xe7, 0x07} // counters, then 999 entries in no bytes
			return w.bytes()
		}},
		{name: "run id", bytes: func() []byte {
			return reseal(append([]byte(magic), formatV1, 0xff, 0x01, 0, 0, 0, 0)) // 255 bytes claimed
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.bytes()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for range 10 {
				if _, err := Decode(b); !errors.Is(err, ErrCorrupt) {
					t.Fatalf("Decode error = %v, want %v", err, ErrCorrupt)
				}
			}
			runtime.ReadMemStats(&after)
			if per := (after.TotalAlloc - before.TotalAlloc) / 10; per > 2048 {
				t.Errorf("a rejected %d-byte input allocated %d bytes", len(b), per)
			}
		})
	}
}
