package hist

import (
	"errors"
	"maps"
	"math"
	"strings"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

func TestTotal(t *testing.T) {
	rec := NewRecorder(3)
	rec.Record(0, Result{Latency: time.Millisecond, Status: 200, BytesSent: 10})
	rec.Record(1, Result{Latency: 2 * time.Millisecond, Status: 500, Class: ClassHTTP5xx, BytesSent: 20})
	rec.Record(1, Result{Latency: 3 * time.Millisecond, Status: 200, BytesSent: 30})
	rec.Record(2, Result{Latency: 200 * time.Second, Class: ClassTimeout})
	s := rec.Flush(t0, t0)

	total := s.Total()
	want := StepStats{
		Requests: 4, Errors: 2, BytesSent: 60, Clamped: 1,
		Status:  map[int]uint64{0: 1, 200: 2, 500: 1},
		Classes: map[ErrorClass]uint64{ClassTimeout: 1, ClassHTTP5xx: 1},
	}
	all := NewHistogram()
	for _, us := range []int64{1000, 2000, 3000, HighestMicros} {
		_ = all.RecordValue(us)
	}
	want.Latency = all
	if d := diffSteps(&total, &want); d != "" {
		t.Error(d)
	}
	if s.Steps[1].Requests != 2 || s.Steps[1].Latency.TotalCount() != 2 {
		t.Error("Total changed a step")
	}
	empty := (&Snapshot{}).Total()
	if empty.Requests != 0 || empty.Latency == nil || empty.Status == nil || empty.Classes == nil {
		t.Errorf("Total of no steps = %+v", empty)
	}
}

func TestMergeIntoZeroValue(t *testing.T) {
	src := typicalSnapshot(t, 1, 1, 100).Steps[0]
	var dst StepStats
	dst.Merge(&src)
	if d := diffSteps(&dst, &src); d != "" {
		t.Error(d)
	}
	dst.Merge(&StepStats{}) // a zero value adds nothing
	if d := diffSteps(&dst, &src); d != "" {
		t.Error(d)
	}
}

func TestCloneSharesNothing(t *testing.T) {
	s := typicalSnapshot(t, 2, 2, 200)
	c := s.Clone()
	if d := diffSnapshots(s, c); d != "" {
		t.Fatal(d)
	}
	c.Steps[0].Status[999]++
	c.Steps[0].Classes[ClassDNS]++
	_ = c.Steps[0].Latency.RecordValue(5)
	c.Steps[1].Requests++
	if d := diffSnapshots(s, typicalSnapshot(t, 2, 2, 200)); d != "" {
		t.Errorf("changing the clone changed the original: %s", d)
	}
	if (*Snapshot)(nil).Clone() != nil {
		t.Error("Clone of nil is not nil")
	}
}

func TestFold(t *testing.T) {
	a, b, c := typicalSnapshot(t, 1, 2, 500), typicalSnapshot(t, 2, 2, 300), typicalSnapshot(t, 3, 2, 0)
	b.Start, b.End = t0.Add(-time.Millisecond), t0.Add(time.Second-time.Millisecond)
	c.End = t0.Add(time.Second + 2*time.Millisecond)
	folded, err := Fold([]*Snapshot{a, b, c})
	if err != nil {
		t.Fatal(err)
	}
	want := &Snapshot{RunID: a.RunID, Start: b.Start, End: c.End, ActiveVUs: 150, TargetVUs: 192, Dropped: 9,
		Steps: make([]StepStats, 2)}
	for i := range want.Steps {
		want.Steps[i] = emptyStepStats()
		for _, s := range []*Snapshot{a, b, c} {
			want.Steps[i].Merge(&s.Steps[i])
		}
	}
	if d := diffSnapshots(folded, want); d != "" {
		t.Error(d)
	}
	if d := diffSnapshots(a, typicalSnapshot(t, 1, 2, 500)); d != "" {
		t.Errorf("Fold changed its input: %s", d)
	}
	if folded.Steps[0].Latency == a.Steps[0].Latency {
		t.Error("folded snapshot shares a histogram with its input")
	}
}

type foldErrorCase struct {
	name    string
	snaps   func() []*Snapshot
	wantErr error
	wantMsg string
}

// foldErrorCases are inputs Fold must refuse.
func foldErrorCases(tb testing.TB) []foldErrorCase {
	valid := func() *Snapshot { return typicalSnapshot(tb, 1, 2, 50) }
	huge := func() *Snapshot {
		s := valid()
		s.Steps[0].BytesSent = 1 << 63
		return s
	}
	return []foldErrorCase{
		{name: "none", snaps: func() []*Snapshot { return nil }, wantErr: ErrInvalid, wantMsg: "at least one"},
		{name: "nil snapshot", snaps: func() []*Snapshot { return []*Snapshot{valid(), nil} }, wantErr: ErrInvalid, wantMsg: "nil"},
		{
			name: "run ids differ",
			snaps: func() []*Snapshot {
				other := valid()
				other.RunID = "run-43"
				return []*Snapshot{valid(), other}
			},
			wantErr: ErrMismatch, wantMsg: `run "run-43"`,
		},
		{
			name: "step counts differ",
			snaps: func() []*Snapshot {
				return []*Snapshot{valid(), typicalSnapshot(tb, 1, 3, 50)}
			},
			wantErr: ErrMismatch, wantMsg: "3 steps, want 2",
		},
		{
			name: "invalid input",
			snaps: func() []*Snapshot {
				bad := valid()
				bad.Steps[1].Requests++
				return []*Snapshot{valid(), bad}
			},
			wantErr: ErrInvalid, wantMsg: "fold snapshot 1",
		},
		{
			name: "foreign histogram geometry",
			snaps: func() []*Snapshot {
				bad := valid()
				h := hdrhistogram.New(1, 3_600_000_000, 3)
				h.Merge(bad.Steps[0].Latency)
				bad.Steps[0].Latency = h
				return []*Snapshot{bad}
			},
			wantErr: ErrInvalid, wantMsg: "geometry",
		},
		{name: "counter overflow", snaps: func() []*Snapshot { return []*Snapshot{huge(), huge()} }, wantErr: ErrOverflow, wantMsg: "step 0"},
		{
			name: "VU overflow",
			snaps: func() []*Snapshot {
				a, b := valid(), valid()
				a.ActiveVUs, b.ActiveVUs = math.MaxUint32, 1
				return []*Snapshot{a, b}
			},
			wantErr: ErrOverflow, wantMsg: "VUs",
		},
	}
}

func TestFoldErrors(t *testing.T) {
	for _, tt := range foldErrorCases(t) {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Fold(tt.snaps())
			if !errors.Is(err, tt.wantErr) || !strings.Contains(fmtErr(err), tt.wantMsg) {
				t.Fatalf("Fold error = %v, want %v containing %q", err, tt.wantErr, tt.wantMsg)
			}
			if got != nil {
				t.Error("Fold returned a snapshot along with an error")
			}
		})
	}
}

func TestFoldOne(t *testing.T) {
	s := typicalSnapshot(t, 5, 1, 100)
	folded, err := Fold([]*Snapshot{s})
	if err != nil {
		t.Fatal(err)
	}
	if folded.Worker != "" || folded.Shard != 0 || folded.Attempt != 0 || folded.Seq != 0 {
		t.Errorf("identity not cleared: %+v", folded)
	}
	folded.Worker, folded.Shard, folded.Attempt, folded.Seq = s.Worker, s.Shard, s.Attempt, s.Seq
	if d := diffSnapshots(folded, s); d != "" {
		t.Error(d)
	}
	if !maps.Equal(folded.Steps[0].Status, s.Steps[0].Status) {
		t.Error("status differs")
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
