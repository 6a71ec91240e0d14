package scenario

import (
	"strings"
	"testing"
	"time"
)

func TestIterationsValidation(t *testing.T) {
	const steps = "steps: [{url_template: /}]\n"
	for _, tc := range []struct {
		name string
		doc  string
		want string // "" : valid
	}{
		{name: "negative", doc: "virtual_users: 2\niterations: -1\n", want: "iterations: must be 1..1000000000, got -1 (line 3)"},
		{name: "negative per VU", doc: "virtual_users: 2\niterations_per_vu: -3\n", want: "iterations_per_vu: must be 1..1000000000, got -3 (line 3)"},
		{name: "too many", doc: "virtual_users: 2\niterations: 1000000001\n", want: "iterations: must be 1..1000000000"},
		{name: "both", doc: "virtual_users: 2\niterations: 10\niterations_per_vu: 3\n",
			want: "iterations_per_vu: give iterations (shared by all VUs) or iterations_per_vu (each VU's), not both (line 4)"},
		{name: "open model", doc: "rate_per_second: 5\niterations: 10\n",
			want: "iterations: applies to the closed model (virtual users)"},
		{name: "open load block", doc: "iterations_per_vu: 10\nload: {constant_arrival_rate: {target: 5, duration: 10s}}\n",
			want: "iterations_per_vu: applies to the closed model"},
		{name: "per VU on a ramp", doc: "virtual_users: 4\nramp_up_seconds: 2\nduration_seconds: 10\niterations_per_vu: 3\n",
			want: "iterations_per_vu: needs a constant number of VUs"},
		{name: "per VU on stages", doc: "iterations_per_vu: 3\nload: {stages: [{duration: 5s, target: 4}]}\n",
			want: "iterations_per_vu: needs a constant number of VUs"},
		{name: "shared on a ramp", doc: "virtual_users: 4\nramp_up_seconds: 2\nduration_seconds: 10\niterations: 30\n"},
		{name: "per VU on load.constant", doc: "iterations_per_vu: 3\nload: {constant: {target: 4, duration: 1m}}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseYAML([]byte("name: x\n" + tc.doc + steps))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want == "":
			case err == nil:
				t.Fatalf("accepted, want %q", tc.want)
			case !strings.Contains(err.Error(), tc.want) || strings.Count(err.Error(), "\n") > 0:
				t.Fatalf("error %q, want one error containing %q", err, tc.want)
			}
		})
	}
}

// TestIterationsDefaults: iterations alone mean one VU (as k6) for at most
// DefaultIterationsCap; a given duration or load is the cap.
func TestIterationsDefaults(t *testing.T) {
	for _, tc := range []struct {
		name          string
		doc           string
		shared, perVU int
		vus           int
		cap           time.Duration
	}{
		{name: "iterations alone", doc: "iterations: 50\n", shared: 50, vus: 1, cap: DefaultIterationsCap},
		{name: "with VUs", doc: "virtual_users: 8\niterations_per_vu: 5\n", perVU: 5, vus: 8, cap: DefaultIterationsCap},
		{name: "with a duration", doc: "virtual_users: 3\nduration_seconds: 30\niterations: 7\n", shared: 7, vus: 3, cap: 30 * time.Second},
		{name: "load block", doc: "iterations: 9\nload: {ramp_up: {target: 6, ramp: 5s, duration: 2m}}\n", shared: 9, vus: 6, cap: 2 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ParseYAML([]byte("name: x\n" + tc.doc + "steps: [{url_template: /}]\n"))
			if err != nil {
				t.Fatal(err)
			}
			p, err := Compile(s)
			if err != nil {
				t.Fatal(err)
			}
			if p.Iterations != tc.shared || p.IterationsPerVU != tc.perVU || int(p.Profile.Peak()) != tc.vus || p.Profile.Duration() != tc.cap {
				t.Fatalf("iterations %d, per VU %d, %g VUs for %s; want %d, %d, %d VUs for %s",
					p.Iterations, p.IterationsPerVU, p.Profile.Peak(), p.Profile.Duration(), tc.shared, tc.perVU, tc.vus, tc.cap)
			}
			if s.VirtualUsers != 0 && tc.name == "iterations alone" || s.DurationSeconds != 0 && tc.cap == DefaultIterationsCap {
				t.Fatalf("the defaults were written into the scenario: %+v", s)
			}
		})
	}
}
