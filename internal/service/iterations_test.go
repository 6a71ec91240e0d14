package service

import (
	"errors"
	"strings"
	"testing"
)

// TestIterationsOverride: "iterations" in a run's overrides sets shared
// iterations and drops the scenario's iterations_per_vu (and the other way
// round); a bad value is refused naming overrides.<field>.
func TestIterationsOverride(t *testing.T) {
	doc := []byte(`{"name":"i","virtual_users":4,"duration_seconds":30,"iterations_per_vu":5,"steps":[{"url_template":"/"}]}`)
	for _, tc := range []struct {
		name          string
		overrides     string
		shared, perVU int
		wantErr       string
	}{
		{name: "none", shared: 0, perVU: 5},
		{name: "shared", overrides: `{"iterations": 100}`, shared: 100},
		{name: "per VU", overrides: `{"iterations_per_vu": 2}`, perVU: 2},
		{name: "negative", overrides: `{"iterations": -1}`, wantErr: "overrides.iterations"},
		{name: "open model", overrides: `{"rate_per_second": 5, "iterations": 10}`, wantErr: "overrides.iterations"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, plan, err := applyOverrides(doc, []byte(tc.overrides), nil)
			if tc.wantErr != "" {
				var r *Error
				if !errors.As(err, &r) || r.Field != tc.wantErr || !strings.Contains(err.Error(), "iterations") {
					t.Fatalf("err = %v (%+v), want one on %s", err, r, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if plan.Iterations != tc.shared || plan.IterationsPerVU != tc.perVU {
				t.Fatalf("iterations %d, per VU %d; want %d, %d", plan.Iterations, plan.IterationsPerVU, tc.shared, tc.perVU)
			}
		})
	}
}
