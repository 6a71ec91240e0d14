package profile

import (
	"errors"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"
)

const s = time.Second

func TestModelText(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Model
		wantErr bool
	}{
		{name: "closed", in: "closed", want: Closed},
		{name: "open", in: "open", want: Open},
		{name: "case and space", in: " Open\n", want: Open},
		{name: "unknown", in: "ramping", wantErr: true},
		{name: "empty", in: "", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseModel(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ParseModel(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if got != tc.want {
				t.Fatalf("ParseModel(%q) = %v, want %v", tc.in, got, tc.want)
			}
			b, err := got.MarshalText()
			if err != nil {
				t.Fatal(err)
			}
			var back Model
			if err := back.UnmarshalText(b); err != nil || back != got {
				t.Fatalf("round trip %q → %v, %v", b, back, err)
			}
		})
	}
	if got := Model(7).String(); got != "Model(7)" {
		t.Errorf("Model(7).String() = %q", got)
	}
	if _, err := Model(7).MarshalText(); err == nil {
		t.Error("MarshalText of unknown model: want error")
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name      string
		p         Profile
		wantField string // "" means valid
		wantErr   string
	}{
		{name: "valid", p: Profile{Stages: []Stage{{Duration: s, Target: 5}}}},
		{name: "jump then hold", p: Profile{Stages: []Stage{{Target: 5}, {Duration: s, Target: 5}}}},
		{name: "exactly seven days", p: Profile{Model: Open, Stages: []Stage{{Duration: MaxDuration, Target: 1e6}}}},
		{name: "no stages", p: Profile{}, wantField: "stages", wantErr: "stages: need at least one stage"},
		{name: "negative duration", p: Profile{Stages: []Stage{{Duration: s, Target: 1}, {Duration: s}, {Duration: -1}}},
			wantField: "stages[2].duration", wantErr: "stages[2].duration: must be >= 0"},
		{name: "zero total", p: Profile{Stages: []Stage{{Target: 1}, {Target: 2}}},
			wantField: "stages", wantErr: "stages: total duration must be > 0"},
		{name: "over seven days", p: Profile{Stages: []Stage{{Duration: MaxDuration}, {Duration: 1}}},
			wantField: "stages[1].duration", wantErr: "stages[1].duration: total duration exceeds 168h0m0s"},
		{name: "overflowing durations", p: Profile{Stages: []Stage{{Duration: math.MaxInt64}, {Duration: math.MaxInt64}}},
			wantField: "stages[0].duration"},
		{name: "negative target", p: Profile{Stages: []Stage{{Duration: s, Target: -1}}},
			wantField: "stages[0].target", wantErr: "stages[0].target: must be >= 0"},
		{name: "NaN target", p: Profile{Stages: []Stage{{Duration: s}, {Duration: s, Target: math.NaN()}}},
			wantField: "stages[1].target", wantErr: "stages[1].target: must be finite"},
		{name: "infinite target", p: Profile{Model: Open, Stages: []Stage{{Duration: s, Target: math.Inf(1)}}},
			wantField: "stages[0].target"},
		{name: "negative start", p: Profile{Start: -1, Stages: []Stage{{Duration: s}}},
			wantField: "start", wantErr: "start: must be >= 0"},
		{name: "too many VUs", p: Profile{Stages: []Stage{{Duration: s, Target: MaxVUs + 1}}},
			wantField: "stages[0].target"},
		{name: "open rate above MaxVUs is fine", p: Profile{Model: Open, Stages: []Stage{{Duration: s, Target: MaxVUs + 1}}}},
		{name: "unknown model", p: Profile{Model: 9, Stages: []Stage{{Duration: s}}}, wantField: "model"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Validate()
			if tc.wantField == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Validate() = %v, want a *FieldError", err)
			}
			if fe.Field != tc.wantField {
				t.Errorf("field = %q, want %q", fe.Field, tc.wantField)
			}
			if tc.wantErr != "" && err.Error() != tc.wantErr {
				t.Errorf("error = %q, want %q", err, tc.wantErr)
			}
		})
	}
}

// ramp: 0 → 10 over 10s, jump to 20 at 10s, hold 20 for 5s, 20 → 0 over 10s.
var ramp = Profile{Start: 0, Stages: []Stage{
	{Duration: 10 * s, Target: 10},
	{Duration: 0, Target: 20},
	{Duration: 5 * s, Target: 20},
	{Duration: 10 * s, Target: 0},
}}

func TestTarget(t *testing.T) {
	tests := []struct {
		name string
		p    Profile
		at   time.Duration
		want float64
	}{
		{name: "before start", p: ramp, at: -s, want: 0},
		{name: "start", p: ramp, at: 0, want: 0},
		{name: "mid ramp", p: ramp, at: 2500 * time.Millisecond, want: 2.5},
		{name: "just before jump", p: ramp, at: 10*s - 1, want: 10 - 1e-9},
		{name: "jump takes effect at its instant", p: ramp, at: 10 * s, want: 20},
		{name: "hold", p: ramp, at: 12 * s, want: 20},
		{name: "end of hold is start of ramp down", p: ramp, at: 15 * s, want: 20},
		{name: "ramp down", p: ramp, at: 20 * s, want: 10},
		{name: "end", p: ramp, at: 25 * s, want: 0},
		{name: "after end", p: ramp, at: time.Hour, want: 0},
		{name: "leading jump at zero", p: Profile{Start: 3, Stages: []Stage{{Target: 7}, {Duration: s, Target: 7}}}, at: 0, want: 7},
		{name: "leading jump, before zero", p: Profile{Start: 3, Stages: []Stage{{Target: 7}, {Duration: s, Target: 7}}}, at: -1, want: 3},
		{name: "trailing jump is the last target", p: Profile{Stages: []Stage{{Duration: s, Target: 4}, {Target: 9}}}, at: s, want: 9},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.Target(tc.at); !closeTo(got, tc.want, 1e-12, 1) {
				t.Errorf("Target(%v) = %v, want %v", tc.at, got, tc.want)
			}
		})
	}
}

func TestDurationPeakTargetInt(t *testing.T) {
	if got := ramp.Duration(); got != 25*s {
		t.Errorf("Duration() = %v, want 25s", got)
	}
	if got := ramp.Peak(); got != 20 {
		t.Errorf("Peak() = %v, want 20", got)
	}
	tests := []struct {
		name string
		p    Profile
		at   time.Duration
		want int
	}{
		{name: "below half rounds down", p: ramp, at: 2499 * time.Millisecond, want: 2},
		{name: "half rounds away from zero", p: ramp, at: 2500 * time.Millisecond, want: 3},
		{name: "at jump", p: ramp, at: 10 * s, want: 20},
		{name: "clamped to MaxVUs", p: Profile{Model: Open, Stages: []Stage{{Duration: s, Target: 1e300}}}, at: s, want: MaxVUs},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.TargetInt(tc.at); got != tc.want {
				t.Errorf("TargetInt(%v) = %d, want %d", tc.at, got, tc.want)
			}
		})
	}
}

func TestRetarget(t *testing.T) {
	hold := Profile{Start: 10, Stages: []Stage{{Duration: 60 * s, Target: 10}}}
	tests := []struct {
		name   string
		p      Profile
		at     time.Duration
		target float64
		over   time.Duration
		want   []Stage
	}{
		{name: "ramp mid-hold", p: hold, at: 20 * s, target: 30, over: 10 * s,
			want: []Stage{{20 * s, 10}, {10 * s, 30}, {30 * s, 30}}},
		{name: "jump", p: hold, at: 20 * s, target: 0, over: 0,
			want: []Stage{{20 * s, 10}, {0, 0}, {40 * s, 0}}},
		{name: "ramp ending exactly at the end", p: hold, at: 50 * s, target: 20, over: 10 * s,
			want: []Stage{{50 * s, 10}, {10 * s, 20}}},
		{name: "ramp cut short by the end", p: hold, at: 50 * s, target: 30, over: 40 * s,
			want: []Stage{{50 * s, 10}, {10 * s, 15}}},
		{name: "at zero", p: hold, at: 0, target: 4, over: 0,
			want: []Stage{{0, 4}, {60 * s, 4}}},
		{name: "negative at is zero", p: hold, at: -s, target: 4, over: -s,
			want: []Stage{{0, 4}, {60 * s, 4}}},
		{name: "mid ramp keeps the reached value", p: ramp, at: 5 * s, target: 1, over: 0,
			want: []Stage{{5 * s, 5}, {0, 1}, {20 * s, 1}}},
		{name: "at a jump keeps the jump", p: ramp, at: 10 * s, target: 0, over: 15 * s,
			want: []Stage{{10 * s, 10}, {0, 20}, {15 * s, 0}}},
		{name: "at end is unchanged", p: hold, at: 60 * s, target: 99, over: s, want: hold.Stages},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := slices.Clone(tc.p.Stages)
			got := tc.p.Retarget(tc.at, tc.target, tc.over)
			if !reflect.DeepEqual(got.Stages, tc.want) {
				t.Errorf("stages = %v, want %v", got.Stages, tc.want)
			}
			if got.Start != tc.p.Start || got.Model != tc.p.Model {
				t.Errorf("start/model changed: %+v", got)
			}
			if !reflect.DeepEqual(tc.p.Stages, before) {
				t.Errorf("Retarget mutated p.Stages: %v", tc.p.Stages)
			}
		})
	}
}

func TestRetargetProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := genProfile(Closed).Draw(t, "p")
		total := p.Duration()
		at := time.Duration(rapid.Int64Range(0, int64(total)).Draw(t, "at"))
		target := genTarget.Draw(t, "target")
		over := time.Duration(rapid.Int64Range(0, int64(total)).Draw(t, "over"))
		before := slices.Clone(p.Stages)
		q := p.Retarget(at, target, over)
		if !reflect.DeepEqual(p.Stages, before) {
			t.Fatalf("mutated p.Stages")
		}
		if at == total {
			return
		}
		if err := q.Validate(); err != nil {
			t.Fatalf("Retarget result invalid: %v", err)
		}
		if q.Duration() != total {
			t.Fatalf("Duration = %v, want %v", q.Duration(), total)
		}
		scale := max(p.Peak(), target, 1)
		tt := genTime(t, q, "t")
		var want float64
		from := p.Target(at)
		switch {
		case tt < at:
			want = p.Target(tt)
		case tt >= at+over:
			want = target
		default:
			want = lerp(from, target, tt-at, over)
		}
		if tt < total && !closeTo(q.Target(tt), want, 1e-9, scale) {
			t.Fatalf("Target(%v) = %v, want %v (profile %v)", tt, q.Target(tt), want, q)
		}
	})
}

func TestShift(t *testing.T) {
	tests := []struct {
		name   string
		p      Profile
		offset time.Duration
		want   Profile
	}{
		{name: "mid ramp", p: ramp, offset: 5 * s,
			want: Profile{Start: 5, Stages: []Stage{{5 * s, 10}, {0, 20}, {5 * s, 20}, {10 * s, 0}}}},
		{name: "at a jump skips it into Start", p: ramp, offset: 10 * s,
			want: Profile{Start: 20, Stages: []Stage{{5 * s, 20}, {10 * s, 0}}}},
		{name: "zero is a copy", p: ramp, offset: 0, want: ramp},
		{name: "at end has nothing left", p: ramp, offset: 25 * s,
			want: Profile{Start: 0, Stages: []Stage{}}},
		{name: "past end has nothing left", p: ramp, offset: time.Hour,
			want: Profile{Start: 0, Stages: []Stage{}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.p.Shift(tc.offset)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Shift(%v) = %+v, want %+v", tc.offset, got, tc.want)
			}
		})
	}
}

func TestShiftProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := genProfile(Open).Draw(t, "p")
		offset := genTime(t, p, "offset")
		q := p.Shift(offset)
		if want := max(p.Duration()-max(offset, 0), 0); q.Duration() != want {
			t.Fatalf("Duration = %v, want %v", q.Duration(), want)
		}
		tt := time.Duration(rapid.Int64Range(0, int64(q.Duration()+time.Second)).Draw(t, "t"))
		if got, want := q.Target(tt), p.Target(tt+max(offset, 0)); !closeTo(got, want, 1e-9, p.Peak()) {
			t.Fatalf("Shift(%v).Target(%v) = %v, want %v", offset, tt, got, want)
		}
		// A retried shard must be owed exactly the arrivals left over.
		if got, want := q.Arrivals(0, q.Duration()), p.Arrivals(offset, p.Duration()); !closeTo(got, want, 1e-9, 1) {
			t.Fatalf("arrivals after shift = %v, want %v", got, want)
		}
	})
}

func TestScale(t *testing.T) {
	got := ramp.Scale(0.5)
	if got.Start != 0 || got.Target(20*s) != 5 || got.Duration() != ramp.Duration() {
		t.Errorf("Scale(0.5) = %+v", got)
	}
	if ramp.Stages[0].Target != 10 {
		t.Error("Scale mutated the receiver")
	}
}
