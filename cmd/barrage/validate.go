package main

import (
	"fmt"
	"os"
	"time"

	"github.com/barrage/barrage/internal/scenario"
	"github.com/spf13/cobra"
)

// newValidateCmd checks a scenario file and describes what it would do.
func newValidateCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "validate FILE",
		Short:             "check a scenario file and print its load profile",
		Long:              "Checks a scenario (YAML, or JSON by extension) and prints its load profile and steps.",
		Args:              wantArgs(1, "one scenario file"),
		ValidArgsFunction: scenarioFiles,
		RunE: func(_ *cobra.Command, args []string) error {
			s, err := scenario.LoadFile(args[0])
			if err != nil {
				return &exitError{code: exitBadInput, err: err}
			}
			p, err := scenario.Compile(s)
			if err != nil {
				return &exitError{code: exitBadInput, err: err}
			}
			describePlan(p)
			return nil
		},
	}
}

func describePlan(p *scenario.Plan) {
	w := os.Stdout
	fmt.Fprintf(w, "scenario %q: %s model, %s\n", p.Name, p.Profile.Model, p.Profile.Duration())
	unit := "VUs"
	if p.Profile.Model.String() == "open" {
		unit = "iterations/s"
	}
	at := time.Duration(0)
	fmt.Fprintf(w, "  load: starts at %g %s", p.Profile.Start, unit)
	for _, st := range p.Profile.Stages {
		at += st.Duration
		fmt.Fprintf(w, ", %g by %s", st.Target, at)
	}
	fmt.Fprintf(w, " (peak %g)\n", p.Profile.Peak())
	if p.MaxVUs > 0 {
		fmt.Fprintf(w, "  max_vus: %d\n", p.MaxVUs)
	}
	var weights float64
	for _, f := range p.Flows {
		weights += f.Weight
	}
	for i, st := range p.Steps {
		for _, f := range p.Flows {
			if f.Name != "" && f.First == i {
				fmt.Fprintf(w, "  flow %q: weight %g (%.4g%% of the VUs or arrivals), steps %d..%d\n", f.Name, f.Weight, 100*f.Weight/weights, f.First+1, f.End)
			}
		}
		fmt.Fprintf(w, "  step %d %q: %s %s", i+1, st.Name, st.Method, st.URL.Source())
		if st.Think.Dist != "" {
			fmt.Fprintf(w, ", think %s (mean %s)", st.Think.Dist, st.Think.Mean())
		}
		fmt.Fprintf(w, ", %d checks, %d extractions\n", len(st.Checks), len(st.Extract))
	}
	for _, th := range p.Thresholds {
		scope := th.Scope()
		if scope == "" {
			scope = "run"
		}
		fmt.Fprintf(w, "  threshold (%s): %s\n", scope, th.Expression)
	}
}
