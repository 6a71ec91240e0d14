package grafana

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/barrage/barrage/internal/vmtest"
)

// Querier runs queries against VictoriaMetrics; *vmtest.VM is one.
type Querier interface {
	Query(ctx context.Context, query string, at time.Time) ([]vmtest.Sample, error)
	QueryRange(ctx context.Context, query string, start, end time.Time, step time.Duration) ([]vmtest.Range, error)
	LabelValues(ctx context.Context, label, match string, start, end time.Time) ([]string, error)
}

// ScrapeInterval is the datasource's scrape interval (its timeInterval in
// provisioning/datasources/victoriametrics.yml): Barrage's interval.
const ScrapeInterval = time.Second

// optionalSeries are series a correct run may lack: a run without errors
// has no barrage_errors_total, a scenario without checks no
// barrage_checks_total, and an exporter may leave out a counter that stayed
// at zero.
var optionalSeries = map[string]bool{
	"barrage_errors_total":             true,
	"barrage_checks_total":             true,
	"barrage_dropped_iterations_total": true,
}

var seriesName = regexp.MustCompile(`\bbarrage_\w+`)

// optional reports whether every series expr reads is optional, so that a
// correct run may leave it without data.
func optional(expr string) bool {
	names := seriesName.FindAllString(expr, -1)
	return len(names) > 0 && !slices.ContainsFunc(names, func(n string) bool { return !optionalSeries[n] })
}

// Failure is a query of the dashboard that failed or found nothing.
type Failure struct {
	Query
	Expanded string // the query as run
	Err      error  // nil when it ran but found no data
	Optional bool   // it reads only series a correct run may lack
}

func (f Failure) Error() string {
	why := "no data"
	if f.Err != nil {
		why = f.Err.Error()
	}
	if f.Optional {
		why += " (optional series)"
	}
	return fmt.Sprintf("%s: %s: %s", f.Query, why, f.Expanded)
}

// CheckError lists the failures CheckAgainst found.
type CheckError struct {
	Failures []Failure
}

func (e *CheckError) Error() string {
	lines := make([]string, len(e.Failures))
	for i, f := range e.Failures {
		lines[i] = "\n  " + f.Error()
	}
	return fmt.Sprintf("dashboard check: %d queries failed:%s", len(e.Failures), strings.Join(lines, ""))
}

// WithoutOptional returns the failures other than optional queries that
// found no data (as a *CheckError), or nil if there are none: what a run
// without errors, checks or dropped iterations must still pass.
func (e *CheckError) WithoutOptional() error {
	var left []Failure
	for _, f := range e.Failures {
		if f.Err != nil || !f.Optional {
			left = append(left, f)
		}
	}
	if len(left) == 0 {
		return nil
	}
	return &CheckError{Failures: left}
}

// CheckAgainst runs the shipped dashboard's queries against q over
// [start, end] as Grafana would with runIDs selected in run_id:
//
//   - each variable's label_values query, asking its label's values among
//     the matching series over [start, end]: run_id's must include every
//     run ID, the others (step) must have at least one; run_id is then
//     bound to runIDs and the others to every value found;
//   - each panel target, expanded with those values, $__interval = a range
//     query step of (end-start)/500 rounded down to whole seconds, at least
//     ScrapeInterval; $__rate_interval = RateInterval(step, ScrapeInterval);
//     $__range = end-start: a range query over [start, end], or for an
//     instant target an instant query at end.
//
// It returns nil, or a *CheckError naming each query that failed or found
// no data (see CheckError.WithoutOptional); other errors if the dashboard
// does not lint or the arguments are wrong.
func CheckAgainst(ctx context.Context, q Querier, runIDs []string, start, end time.Time) error {
	if len(runIDs) == 0 {
		return errors.New("check dashboard: no run IDs")
	}
	if !end.After(start) {
		return fmt.Errorf("check dashboard: end %s is not after start %s", end, start)
	}
	if err := Lint(dashboard); err != nil {
		return err
	}
	m, err := Parse(dashboard)
	if err != nil {
		return err
	}
	vars, failures := checkVariables(ctx, q, m.Templating.List, runIDs, start, end)
	if len(failures) > 0 {
		return &CheckError{Failures: failures}
	}
	step := max(ScrapeInterval, (end.Sub(start) / 500).Truncate(time.Second))
	rate := RateInterval(step, ScrapeInterval)
	for _, query := range m.Queries() {
		if query.Variable != "" {
			continue
		}
		f := Failure{Query: query, Expanded: Expand(query.Expr, vars, step, rate, end.Sub(start)), Optional: optional(query.Expr)}
		var found bool
		if query.Instant {
			var res []vmtest.Sample
			res, f.Err = q.Query(ctx, f.Expanded, end)
			found = slices.ContainsFunc(res, func(s vmtest.Sample) bool { return !math.IsNaN(s.Value) })
		} else {
			var res []vmtest.Range
			res, f.Err = q.QueryRange(ctx, f.Expanded, start, end, step)
			found = slices.ContainsFunc(res, hasValue)
		}
		if f.Err != nil || !found {
			failures = append(failures, f)
		}
	}
	if len(failures) > 0 {
		return &CheckError{Failures: failures}
	}
	return nil
}

func hasValue(r vmtest.Range) bool {
	return slices.ContainsFunc(r.Values, func(p [2]any) bool {
		s, _ := p[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		return err == nil && !math.IsNaN(v)
	})
}

// checkVariables runs the query variables in order and returns the values
// to bind each to.
func checkVariables(ctx context.Context, q Querier, list []Variable, runIDs []string, start, end time.Time) (map[string][]string, []Failure) {
	vars := map[string][]string{}
	var failures []Failure
	for _, v := range list {
		if v.Type != "query" {
			continue
		}
		f := Failure{Query: Query{Variable: v.Name, Expr: v.QueryText()}}
		selector, label, err := parseLabelValues(f.Expr)
		if err != nil {
			f.Err = err
			failures = append(failures, f)
			continue
		}
		f.Expanded = Expand(selector, vars, ScrapeInterval, RateInterval(ScrapeInterval, ScrapeInterval), end.Sub(start))
		values, err := q.LabelValues(ctx, label, f.Expanded, start, end)
		switch {
		case err != nil:
			f.Err = err
		case v.Name == "run_id":
			var missing []string
			for _, id := range runIDs {
				if !slices.Contains(values, id) {
					missing = append(missing, id)
				}
			}
			if len(missing) > 0 {
				f.Err = fmt.Errorf("%s lacks %s (has %s)", label, strings.Join(missing, ", "), strings.Join(values, ", "))
			}
			values = runIDs
		case len(values) == 0:
			f.Err = fmt.Errorf("no %s values", label)
		}
		if f.Err != nil {
			failures = append(failures, f)
		}
		vars[v.Name] = values
	}
	return vars, failures
}
