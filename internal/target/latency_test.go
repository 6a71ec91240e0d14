package target

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseLatency(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Latency
		wantErr string
	}{
		{name: "empty", in: "", want: Latency{}},
		{name: "none", in: "none", want: Latency{}},
		{name: "fixed", in: "fixed:5ms", want: Latency{Dist: DistFixed, Fixed: 5 * time.Millisecond}},
		{name: "bare duration", in: "250us", want: Latency{Dist: DistFixed, Fixed: 250 * time.Microsecond}},
		{name: "fixed zero", in: "fixed:0s", want: Latency{Dist: DistFixed}},
		{name: "uniform", in: "uniform:1ms-10ms", want: Latency{Dist: DistUniform, Min: time.Millisecond, Max: 10 * time.Millisecond}},
		{name: "uniform degenerate", in: "uniform:3ms-3ms", want: Latency{Dist: DistUniform, Min: 3 * time.Millisecond, Max: 3 * time.Millisecond}},
		{name: "lognormal", in: "lognormal:5ms,0.5", want: Latency{Dist: DistLognormal, Median: 5 * time.Millisecond, Sigma: 0.5}},
		{name: "spaces trimmed", in: " fixed:1s ", want: Latency{Dist: DistFixed, Fixed: time.Second}},
		{name: "unknown dist", in: "pareto:1ms", wantErr: "unknown distribution"},
		{name: "fixed garbage", in: "fixed:soon", wantErr: "invalid duration"},
		{name: "fixed negative", in: "fixed:-1ms", wantErr: "outside"},
		{name: "fixed too long", in: "fixed:2m", wantErr: "outside"},
		{name: "uniform no dash", in: "uniform:1ms", wantErr: "MIN-MAX"},
		{name: "uniform reversed", in: "uniform:10ms-1ms", wantErr: "min <= max"},
		{name: "uniform bad max", in: "uniform:1ms-x", wantErr: "uniform max"},
		{name: "lognormal no sigma", in: "lognormal:5ms", wantErr: "MEDIAN,SIGMA"},
		{name: "lognormal zero median", in: "lognormal:0s,0.5", wantErr: "median"},
		{name: "lognormal negative sigma", in: "lognormal:5ms,-1", wantErr: "sigma"},
		{name: "lognormal NaN sigma", in: "lognormal:5ms,NaN", wantErr: "sigma"},
		{name: "lognormal huge sigma", in: "lognormal:5ms,11", wantErr: "sigma"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseLatency(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseLatency(%q) error = %v, want it to mention %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseLatency(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("ParseLatency(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			back, err := ParseLatency(got.String())
			if err != nil || back != got {
				t.Fatalf("ParseLatency(%q.String() = %q) = %+v, %v; want the same value back", tt.in, got.String(), back, err)
			}
		})
	}
}

func FuzzParseLatency(f *testing.F) {
	for _, seed := range []string{"", "none", "5ms", "fixed:5ms", "uniform:1ms-10ms", "lognormal:5ms,0.5", "lognormal:1s,1e-3", "x:y"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		l, err := ParseLatency(in)
		if err != nil {
			return
		}
		if err := l.Validate(); err != nil {
			t.Fatalf("ParseLatency(%q) accepted an invalid %+v: %v", in, l, err)
		}
		back, err := ParseLatency(l.String())
		if err != nil || back != l {
			t.Fatalf("round trip of %q via %q gave %+v, %v; want %+v", in, l.String(), back, err, l)
		}
		for _, u := range []float64{0, 0.5, 1 - 0x1p-53} {
			if d := l.at(u, u); d < 0 || d > MaxLatency {
				t.Fatalf("%+v at %v = %v, outside 0..%v", l, u, d, MaxLatency)
			}
		}
	})
}

func TestLatencyAt(t *testing.T) {
	tests := []struct {
		name   string
		l      Latency
		u1, u2 float64
		want   time.Duration
	}{
		{name: "none", l: Latency{}, u1: 0.7, want: 0},
		{name: "fixed ignores draws", l: Latency{Dist: DistFixed, Fixed: 7 * time.Millisecond}, u1: 0.9, want: 7 * time.Millisecond},
		{name: "uniform low end", l: Latency{Dist: DistUniform, Min: time.Millisecond, Max: 11 * time.Millisecond}, u1: 0, want: time.Millisecond},
		{name: "uniform middle", l: Latency{Dist: DistUniform, Min: time.Millisecond, Max: 11 * time.Millisecond}, u1: 0.5, want: 6 * time.Millisecond},
		// u1 = 1-e^-0.5 makes the Box–Muller radius 1, and u2 = 0 makes z = 1.
		{name: "lognormal one sigma up", l: Latency{Dist: DistLognormal, Median: 10 * time.Millisecond, Sigma: 0.5}, u1: 1 - math.Exp(-0.5), u2: 0,
			want: time.Duration(float64(10*time.Millisecond) * math.Exp(0.5))},
		{name: "lognormal at the median", l: Latency{Dist: DistLognormal, Median: 10 * time.Millisecond, Sigma: 0.5}, u1: 0.3, u2: 0.25, want: 10 * time.Millisecond},
		{name: "lognormal tail is capped", l: Latency{Dist: DistLognormal, Median: 30 * time.Second, Sigma: 10}, u1: 1 - 0x1p-53, u2: 0, want: MaxLatency},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.l.at(tt.u1, tt.u2)
			if diff := got - tt.want; diff < -time.Microsecond || diff > time.Microsecond {
				t.Errorf("at(%v, %v) = %v, want %v", tt.u1, tt.u2, got, tt.want)
			}
		})
	}
}

func TestSampleDistributions(t *testing.T) {
	const n = 20000
	tests := []struct {
		name       string
		l          Latency
		lo, hi     time.Duration // every sample within [lo, hi]
		wantMedian time.Duration
		tolerance  float64 // relative, on the median
	}{
		{name: "uniform", l: Latency{Dist: DistUniform, Min: time.Millisecond, Max: 10 * time.Millisecond},
			lo: time.Millisecond, hi: 10 * time.Millisecond, wantMedian: 5500 * time.Microsecond, tolerance: 0.05},
		{name: "lognormal", l: Latency{Dist: DistLognormal, Median: 5 * time.Millisecond, Sigma: 0.5},
			lo: 1, hi: MaxLatency, wantMedian: 5 * time.Millisecond, tolerance: 0.05},
		{name: "fixed", l: Latency{Dist: DistFixed, Fixed: 3 * time.Millisecond},
			lo: 3 * time.Millisecond, hi: 3 * time.Millisecond, wantMedian: 3 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(Config{Seed: 42})
			if err != nil {
				t.Fatal(err)
			}
			got := make([]time.Duration, n)
			for i := range got {
				got[i] = s.sample(tt.l)
				if got[i] < tt.lo || got[i] > tt.hi {
					t.Fatalf("sample %v outside [%v, %v]", got[i], tt.lo, tt.hi)
				}
			}
			slices.Sort(got)
			median := got[n/2]
			if rel := math.Abs(float64(median-tt.wantMedian)) / float64(tt.wantMedian); rel > tt.tolerance {
				t.Errorf("median = %v, want %v ± %.0f%%", median, tt.wantMedian, 100*tt.tolerance)
			}
		})
	}
}

func TestLognormalSpread(t *testing.T) {
	// With σ = 0.5, about 68% of samples fall within median·e^(±0.5).
	s, err := New(Config{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	l := Latency{Dist: DistLognormal, Median: 10 * time.Millisecond, Sigma: 0.5}
	lo := time.Duration(float64(l.Median) * math.Exp(-0.5))
	hi := time.Duration(float64(l.Median) * math.Exp(0.5))
	const n = 20000
	inside := 0
	for range n {
		if d := s.sample(l); d >= lo && d <= hi {
			inside++
		}
	}
	if frac := float64(inside) / n; frac < 0.66 || frac > 0.70 {
		t.Errorf("%.3f of samples within one σ, want about 0.683", frac)
	}
}
