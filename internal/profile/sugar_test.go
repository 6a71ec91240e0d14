package profile

import (
	"errors"
	"math"
	"reflect"
	"testing"
	"time"
)

// sugarCase builds one named profile and says what it should be.
type sugarCase struct {
	name      string
	build     func() (Profile, error)
	want      Profile
	wantField string // set when an error is expected
}

var sugarCases = []sugarCase{
	{
		name:  "constant",
		build: func() (Profile, error) { return Constant(Closed, 50, time.Minute) },
		want:  Profile{Model: Closed, Start: 50, Stages: []Stage{{time.Minute, 50}}},
	},
	{
		name:      "constant zero duration",
		build:     func() (Profile, error) { return Constant(Closed, 50, 0) },
		wantField: "duration",
	},
	{
		name:      "constant negative target",
		build:     func() (Profile, error) { return Constant(Closed, -1, s) },
		wantField: "target",
	},
	{
		name:  "ramp up",
		build: func() (Profile, error) { return RampUp(Closed, 100, 30*s, 5*time.Minute) },
		want:  Profile{Model: Closed, Start: 0, Stages: []Stage{{30 * s, 100}, {270 * s, 100}}},
	},
	{
		name:  "ramp up over the whole run",
		build: func() (Profile, error) { return RampUp(Closed, 100, time.Minute, time.Minute) },
		want:  Profile{Model: Closed, Start: 0, Stages: []Stage{{time.Minute, 100}}},
	},
	{
		name:  "ramp up of zero is constant",
		build: func() (Profile, error) { return RampUp(Closed, 100, 0, time.Minute) },
		want:  Profile{Model: Closed, Start: 100, Stages: []Stage{{time.Minute, 100}}},
	},
	{
		name:      "ramp longer than total",
		build:     func() (Profile, error) { return RampUp(Closed, 100, 2*time.Minute, time.Minute) },
		wantField: "ramp",
	},
	{
		name:      "ramp up too long",
		build:     func() (Profile, error) { return RampUp(Closed, 100, 0, MaxDuration+1) },
		wantField: "total",
	},
	{
		name:  "step load",
		build: func() (Profile, error) { return StepLoad(Closed, 10, 5, 10*s, 2) },
		want: Profile{Model: Closed, Start: 10, Stages: []Stage{
			{10 * s, 10}, {0, 15}, {10 * s, 15}, {0, 20}, {10 * s, 20},
		}},
	},
	{
		name:  "step load without steps",
		build: func() (Profile, error) { return StepLoad(Open, 10, 5, 10*s, 0) },
		want:  Profile{Model: Open, Start: 10, Stages: []Stage{{10 * s, 10}}},
	},
	{
		name:      "step load below zero",
		build:     func() (Profile, error) { return StepLoad(Closed, 10, -6, 10*s, 2) },
		wantField: "size",
	},
	{
		name:      "step load zero every",
		build:     func() (Profile, error) { return StepLoad(Closed, 10, 5, 0, 2) },
		wantField: "every",
	},
	{
		name:      "step load negative steps",
		build:     func() (Profile, error) { return StepLoad(Closed, 10, 5, s, -1) },
		wantField: "steps",
	},
	{
		name:      "step load beyond seven days",
		build:     func() (Profile, error) { return StepLoad(Closed, 10, 5, 24*time.Hour, 7) },
		wantField: "steps",
	},
	{
		name:  "step load of exactly seven days",
		build: func() (Profile, error) { return StepLoad(Open, 0, 1, 24*time.Hour, 6) },
		want: Profile{Model: Open, Start: 0, Stages: []Stage{
			{24 * time.Hour, 0}, {0, 1}, {24 * time.Hour, 1}, {0, 2}, {24 * time.Hour, 2},
			{0, 3}, {24 * time.Hour, 3}, {0, 4}, {24 * time.Hour, 4}, {0, 5}, {24 * time.Hour, 5},
			{0, 6}, {24 * time.Hour, 6},
		}},
	},
	{
		name:  "spike",
		build: func() (Profile, error) { return Spike(Closed, 10, 100, 60*s, 5*s, 20*s, 120*s) },
		want: Profile{Model: Closed, Start: 10, Stages: []Stage{
			{60 * s, 10}, {5 * s, 100}, {20 * s, 100}, {5 * s, 10}, {30 * s, 10},
		}},
	},
	{
		name:  "spike with instant edges at the start, ending with the run",
		build: func() (Profile, error) { return Spike(Open, 10, 100, 0, 0, 20*s, 20*s) },
		want:  Profile{Model: Open, Start: 10, Stages: []Stage{{0, 100}, {20 * s, 100}, {0, 10}}},
	},
	{
		name:      "spike longer than total",
		build:     func() (Profile, error) { return Spike(Closed, 10, 100, 60*s, 5*s, 20*s, 80*s) },
		wantField: "total",
	},
	{
		name:      "spike negative rise",
		build:     func() (Profile, error) { return Spike(Closed, 10, 100, 0, -s, 0, 80*s) },
		wantField: "rise",
	},
	{
		name:  "constant arrival rate",
		build: func() (Profile, error) { return ConstantArrivalRate(200, time.Minute) },
		want:  Profile{Model: Open, Start: 200, Stages: []Stage{{time.Minute, 200}}},
	},
	{
		name: "ramping arrival rate",
		build: func() (Profile, error) {
			return RampingArrivalRate(0, []Stage{{30 * s, 100}, {time.Minute, 100}, {30 * s, 0}})
		},
		want: Profile{Model: Open, Start: 0, Stages: []Stage{{30 * s, 100}, {time.Minute, 100}, {30 * s, 0}}},
	},
	{
		name:      "constant arrival rate NaN",
		build:     func() (Profile, error) { return ConstantArrivalRate(math.NaN(), time.Minute) },
		wantField: "rate",
	},
	{
		name:      "spike negative peak",
		build:     func() (Profile, error) { return Spike(Open, 1, -1, 0, 0, 0, time.Minute) },
		wantField: "peak",
	},
	{
		name:      "ramping arrival rate with a bad stage",
		build:     func() (Profile, error) { return RampingArrivalRate(5, []Stage{{s, 1}, {-s, 2}}) },
		wantField: "stages[1].duration",
	},
	{
		name:      "ramping arrival rate without stages",
		build:     func() (Profile, error) { return RampingArrivalRate(5, nil) },
		wantField: "stages",
	},
}

func TestSugar(t *testing.T) {
	for _, tc := range sugarCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.build()
			if tc.wantField != "" {
				var fe *FieldError
				if !errors.As(err, &fe) || fe.Field != tc.wantField {
					t.Fatalf("error = %v, want a FieldError on %q", err, tc.wantField)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if err := got.Validate(); err != nil {
				t.Fatalf("result does not validate: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestSugarErrorsNameTheSugar(t *testing.T) {
	_, err := Spike(Closed, 10, 100, 60*s, 5*s, 20*s, 80*s)
	if want := "spike: total: must be >= at+2*rise+hold (1m30s)"; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}

func TestStepLoadErrorMessage(t *testing.T) {
	_, err := StepLoad(Closed, 10, -6, 10*s, 2)
	if want := "step load: size: level after 2 steps must be >= 0"; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}

func TestRampingArrivalRateCopiesStages(t *testing.T) {
	in := []Stage{{s, 10}}
	p, err := RampingArrivalRate(0, in)
	if err != nil {
		t.Fatal(err)
	}
	in[0].Target = 99
	if p.Stages[0].Target != 10 {
		t.Error("profile shares the caller's slice")
	}
}
