package scenario

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// MetricKind says what unit a threshold's metric is compared in.
type MetricKind uint8

const (
	KindLatency MetricKind = iota + 1 // milliseconds
	KindRatio                         // a fraction 0..1 (written as 1% or 0.01)
	KindRate                          // per second
	KindCount                         // a plain count
)

// Metric is what a threshold measures: one of the constants below, or a
// percentile of latency written pNN (p95, p99.9).
type Metric string

// The metrics a threshold can name, besides percentiles.
const (
	MetricMin               Metric = "min"
	MetricMax               Metric = "max"
	MetricMean              Metric = "mean"
	MetricErrorRate         Metric = "error_rate"
	MetricCheckRate         Metric = "check_rate"
	MetricRPS               Metric = "rps"
	MetricRequests          Metric = "requests"
	MetricErrors            Metric = "errors"
	MetricDroppedIterations Metric = "dropped_iterations"
	MetricChecksFailed      Metric = "checks_failed"
	MetricIterations        Metric = "iterations"
)

// runOnly reports whether a metric is counted for the whole run alone:
// iterations (done or dropped) are not split by step or flow.
func (m Metric) runOnly() bool {
	return m == MetricDroppedIterations || m == MetricIterations
}

// Op is a threshold's comparison.
type Op string

// The comparisons a threshold can make.
const (
	OpLess    Op = "<"
	OpAtMost  Op = "<="
	OpMore    Op = ">"
	OpAtLeast Op = ">="
)

// Threshold is a pass/fail condition on a run's metrics, such as
// `p95 < 300ms`, `error_rate < 1%`, `rps > 1000` or, against a baseline run,
// `p95 < baseline * 1.1`. Written as a string, or as a mapping with the
// expression and the step it is limited to.
type Threshold struct {
	Expression string
	Step       string // empty: the whole run (or the whole flow)
	// Flow limits the threshold to one flow's requests: every step of it,
	// or with Step, that step, which must be the flow's.
	Flow string

	Metric     Metric  // p95, p99.9, min, max, mean, error_rate, check_rate, rps, requests, errors, dropped_iterations, checks_failed, iterations
	Percentile float64 // for pNN metrics: NN
	Kind       MetricKind
	Op         Op      // <, <=, >, >=
	Value      float64 // normalised: ms for latency, a fraction for ratios
	// Baseline thresholds compare with the same metric of a baseline run:
	// limit = baseline*Factor + Offset.
	Baseline bool
	Factor   float64
	Offset   float64
}

type thresholdForm struct {
	Expression string `yaml:"expression" json:"expression"`
	Step       string `yaml:"step,omitempty" json:"step,omitempty"`
	Flow       string `yaml:"flow,omitempty" json:"flow,omitempty"`
}

func (t *Threshold) decodeNode(n *yaml.Node) error {
	var form thresholdForm
	switch n.Kind {
	case yaml.ScalarNode:
		form.Expression = n.Value
	case yaml.MappingNode:
		d := newDecoder()
		d.decodeStruct(n, reflectValue(&form), "")
		if len(d.errs) > 0 {
			return errors.New(d.errs[0].Path + ": " + d.errs[0].Msg)
		}
	default:
		return fmt.Errorf("must be an expression like \"p95 < 300ms\" or {expression, step, flow}, got %s", kindName(n))
	}
	parsed, err := ParseThreshold(form.Expression)
	if err != nil {
		return err
	}
	parsed.Step, parsed.Flow = form.Step, form.Flow
	*t = parsed
	return nil
}

// MarshalJSON writes the string form, or {expression, step, flow} for a
// step's or a flow's threshold.
func (t Threshold) MarshalJSON() ([]byte, error) {
	if t.Step == "" && t.Flow == "" {
		return json.Marshal(t.Expression)
	}
	return json.Marshal(thresholdForm{Expression: t.Expression, Step: t.Step, Flow: t.Flow})
}

// Scope says what a threshold is limited to: "step X", "flow Y", "flow Y,
// step X", or "" for the whole run.
func (t Threshold) Scope() string {
	var parts []string
	if t.Flow != "" {
		parts = append(parts, "flow "+t.Flow)
	}
	if t.Step != "" {
		parts = append(parts, "step "+t.Step)
	}
	return strings.Join(parts, ", ")
}

// ParseThreshold parses `<metric> <op> <value>`.
func ParseThreshold(expr string) (Threshold, error) {
	t := Threshold{Expression: strings.TrimSpace(expr)}
	if t.Expression == "" {
		return t, errors.New("threshold expression is empty")
	}
	metric, rest, ok := cutOperator(t.Expression, &t.Op)
	if !ok {
		return t, fmt.Errorf("threshold %q: expected <metric> <op> <value> with op one of <, <=, >, >=", expr)
	}
	if err := t.setMetric(metric); err != nil {
		return t, fmt.Errorf("threshold %q: %w", expr, err)
	}
	if err := t.setValue(rest); err != nil {
		return t, fmt.Errorf("threshold %q: %w", expr, err)
	}
	return t, nil
}

func cutOperator(s string, op *Op) (left, right string, ok bool) {
	i := strings.IndexAny(s, "<>")
	if i < 0 {
		return "", "", false
	}
	j := i + 1
	if j < len(s) && s[j] == '=' {
		j++
	}
	*op = Op(s[i:j])
	left, right = strings.TrimSpace(s[:i]), strings.TrimSpace(s[j:])
	return left, right, left != "" && right != "" && !strings.ContainsAny(right, "<>=")
}

var metricKinds = map[Metric]MetricKind{
	MetricMin: KindLatency, MetricMax: KindLatency, MetricMean: KindLatency, "avg": KindLatency, "med": KindLatency,
	MetricErrorRate: KindRatio, MetricCheckRate: KindRatio,
	MetricRPS:      KindRate,
	MetricRequests: KindCount, MetricErrors: KindCount, MetricDroppedIterations: KindCount, MetricChecksFailed: KindCount,
	MetricIterations: KindCount,
}

func (t *Threshold) setMetric(m string) error {
	m = strings.ToLower(m)
	if kind, ok := metricKinds[Metric(m)]; ok {
		t.Metric, t.Kind = Metric(m), kind
		if m == "avg" {
			t.Metric = MetricMean
		}
		if m == "med" {
			t.Metric, t.Percentile = "p50", 50
		}
		return nil
	}
	if strings.HasPrefix(m, "p") {
		p, err := strconv.ParseFloat(m[1:], 64)
		if m == "p999" {
			p, err = 99.9, nil
		}
		if err == nil && p > 0 && p <= 100 {
			t.Metric, t.Kind, t.Percentile = Metric(m), KindLatency, p
			if m == "p999" {
				t.Metric = "p99.9"
			}
			return nil
		}
	}
	return fmt.Errorf("unknown metric %q (want pNN like p95 or p99.9, min, max, mean, error_rate, check_rate, rps, requests, errors, dropped_iterations, checks_failed, iterations)", m)
}

func (t *Threshold) setValue(s string) error {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "baseline") {
		v, err := t.quantity(s)
		t.Value = v
		return err
	}
	t.Baseline, t.Factor = true, 1
	rest := strings.TrimSpace(strings.TrimPrefix(s, "baseline"))
	if rest == "" {
		return nil
	}
	op, arg := rest[0], strings.TrimSpace(rest[1:])
	switch op {
	case '*':
		f, err := strconv.ParseFloat(arg, 64)
		if err != nil || f <= 0 {
			return fmt.Errorf("baseline factor must be a positive number, got %q", arg)
		}
		t.Factor = f
	case '+', '-':
		v, err := t.quantity(arg)
		if err != nil {
			return err
		}
		if op == '-' {
			v = -v
		}
		t.Offset = v
	default:
		return fmt.Errorf("expected baseline, baseline * F or baseline ± V, got %q", s)
	}
	return nil
}

// quantity parses a value in the metric's unit and normalises it.
func (t *Threshold) quantity(s string) (float64, error) {
	switch t.Kind {
	case KindLatency:
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return 0, fmt.Errorf("%s needs a duration like 300ms or 1s, got %q", t.Metric, s)
		}
		return float64(d) / float64(time.Millisecond), nil
	case KindRatio:
		pct := strings.HasSuffix(s, "%")
		v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
		if pct {
			v /= 100
		}
		if err != nil || v < 0 || v > 1 {
			return 0, fmt.Errorf("%s needs a percentage like 1%% or a fraction like 0.01, got %q", t.Metric, s)
		}
		return v, nil
	default:
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || v < 0 {
			return 0, fmt.Errorf("%s needs a non-negative number, got %q", t.Metric, s)
		}
		return v, nil
	}
}

// ErrNoBaseline is returned by Evaluate for a baseline threshold without a baseline value.
var ErrNoBaseline = errors.New("threshold needs a baseline run")

// Limit returns the value actual is compared with.
func (t Threshold) Limit(baseline *float64) (float64, error) {
	if !t.Baseline {
		return t.Value, nil
	}
	if baseline == nil {
		return 0, ErrNoBaseline
	}
	return *baseline*t.Factor + t.Offset, nil
}

// Evaluate reports whether actual (in the metric's normalised unit) passes.
func (t Threshold) Evaluate(actual float64, baseline *float64) (bool, error) {
	limit, err := t.Limit(baseline)
	if err != nil {
		return false, err
	}
	switch t.Op {
	case OpLess:
		return actual < limit, nil
	case OpAtMost:
		return actual <= limit, nil
	case OpMore:
		return actual > limit, nil
	case OpAtLeast:
		return actual >= limit, nil
	}
	return false, fmt.Errorf("threshold %q: bad operator %q", t.Expression, t.Op)
}
