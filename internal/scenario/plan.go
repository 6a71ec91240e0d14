package scenario

import (
	"fmt"
	"strings"
	"time"

	"github.com/barrage/barrage/internal/profile"
)

// Defaults applied by Compile.
const (
	DefaultTimeout      = 30 * time.Second
	DefaultMaxRedirects = 10
	DefaultGracefulStop = 10 * time.Second
	DefaultAbortWindow  = 10 * time.Second
	// MaxSteps bounds a scenario's steps: each costs a histogram per
	// interval on every worker and on the server.
	MaxSteps = 256
)

// Plan is a validated scenario compiled for execution: templates, checks and
// extractors compiled, variables assigned slots, the load profile built.
type Plan struct {
	Name    string
	Profile profile.Profile
	// MaxVUs caps concurrent iterations: the open model's pool, and in the
	// closed model the most VUs a ramp may ask for (0: no cap).
	MaxVUs int
	// PreAllocatedVUs is the open model's pool started before the first
	// arrival, each VU with a warm connection.
	PreAllocatedVUs int
	Steps           []*PlanStep
	// Flows are the scenario's user flows, at least one: a scenario
	// without flows has one, named "", with every step.
	Flows       []*PlanFlow
	Slots       []string // variable names by slot
	InitialVars []string // by slot: the value from variables, else ""
	// Secrets are the {{ secret.NAME }} the templates read, in order of
	// first use; their values are not in the scenario.
	Secrets []PlanSecret
	// Env is the scenario's env as compiled (the run's values over the
	// scenario's defaults); MissingEnv the {{ env.KEY }} read and not set.
	Env          map[string]string
	MissingEnv   []string
	Feeders      []*PlanFeeder
	Thresholds   []Threshold
	AbortOn      *AbortOn
	HTTP         HTTPOptions
	Timeout      time.Duration
	MaxRedirects int // 0: redirects are not followed
	GracefulStop time.Duration

	// Iterations (shared by the run's VUs) or IterationsPerVU (each VU's)
	// end the load when done; 0: none (iterations.go).
	Iterations, IterationsPerVU int
}

// PlanStep is one compiled step.
type PlanStep struct {
	Name string
	// Flow is the name of the flow the step belongs to ("" without flows).
	Flow    string
	Method  string
	URL     *Template
	Headers []HeaderTemplate // sorted by name; scenario-wide headers first
	Body    *Template        // nil: no body
	// Payload is a form, multipart or file body (nil: none, or Body);
	// Gzip compresses whichever body the step has.
	Payload *Payload
	Gzip    bool
	// Trace: send a W3C traceparent header with each request.
	Trace   bool
	Think   ThinkSampler
	Checks  []*CompiledCheck
	Extract []*Extractor
	// NeedBody and NeedHeaders say whether checks or extractors read them, so
	// that the engine can skip keeping them.
	NeedBody, NeedHeaders bool
	// Timeout is the step's own request timeout (0: the plan's).
	Timeout time.Duration
	Tags    map[string]string
	Group   string
	// Retries and RetryBackoff: see Step.
	Retries      int
	RetryBackoff time.Duration
	// SkipSlot and OnlySlot are the variables of skip_if and only_if (-1: none).
	SkipSlot, OnlySlot int
}

// HeaderTemplate is a request header whose value is a template.
type HeaderTemplate struct {
	Name  string
	Value *Template
}

// PlanFeeder is a feeder's records with its fields mapped to slots.
type PlanFeeder struct {
	Name      string
	Mode      string
	Per       string
	Partition bool
	Fields    []string
	Slots     []int      // slot of each field
	Records   [][]string // values in Fields order
}

// validator collects errors and locates them by path.
type validator struct {
	lines map[string]int
	errs  Errors
}

func (v *validator) add(path, format string, args ...any) {
	v.errs = append(v.errs, &FieldError{Path: path, Line: v.line(path), Msg: fmt.Sprintf(format, args...)})
}

// line returns the line of path, or of its nearest ancestor that has one.
func (v *validator) line(path string) int {
	for path != "" {
		if l, ok := v.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// Compile validates s and compiles it. Its error is an Errors listing every
// problem found.
func Compile(s *Scenario) (*Plan, error) {
	return compile(s, nil)
}

// Validate reports every problem with s, or nil.
func (s *Scenario) Validate() error {
	_, err := compile(s, nil)
	return err
}

func compile(s *Scenario, lines map[string]int) (*Plan, error) {
	v := &validator{lines: lines}
	p := &Plan{Name: s.Name, Env: s.Env}
	if strings.TrimSpace(s.Name) == "" {
		v.add("name", "is required")
	} else if len(s.Name) > 200 {
		v.add("name", "is longer than 200 characters")
	}
	v.compileLoad(s, p)
	v.compileOptions(s, p)
	syms := v.compileSymbols(s, p)
	v.compileSteps(s, p, syms)
	v.compileThresholds(s, p)
	if len(v.errs) > 0 {
		return nil, v.errs
	}
	return p, nil
}

func (v *validator) compileOptions(s *Scenario, p *Plan) {
	p.HTTP = s.HTTP
	p.Timeout = s.HTTP.Timeout.D()
	if p.Timeout < 0 {
		v.add("http.timeout", "must be >= 0")
	}
	if p.Timeout == 0 {
		p.Timeout = DefaultTimeout
	}
	switch {
	case s.HTTP.MaxRedirects < 0 || s.HTTP.MaxRedirects > 100:
		v.add("http.max_redirects", "must be 0..100")
	case s.HTTP.NoRedirects && s.HTTP.MaxRedirects > 0:
		v.add("http.no_redirects", "contradicts max_redirects")
	case s.HTTP.NoRedirects:
		p.MaxRedirects = 0
	case s.HTTP.MaxRedirects == 0:
		p.MaxRedirects = DefaultMaxRedirects
	default:
		p.MaxRedirects = s.HTTP.MaxRedirects
	}
	for name := range s.HTTP.Headers {
		if !validHeaderName(name) {
			v.add("http.headers."+name, "is not a valid header name")
		}
	}
	p.GracefulStop = s.GracefulStop.D()
	switch {
	case p.GracefulStop < 0 || p.GracefulStop > 10*time.Minute:
		v.add("graceful_stop", "must be between 0s and 10m")
	case p.GracefulStop == 0:
		p.GracefulStop = DefaultGracefulStop
	}
	if a := s.AbortOn; a != nil {
		cp := *a
		if cp.ErrorRate <= 0 || cp.ErrorRate > 1 {
			v.add("abort_on.error_rate", "must be a fraction in (0, 1], e.g. 0.5")
		}
		if cp.WindowSeconds < 0 || cp.WindowSeconds > 3600 {
			v.add("abort_on.window_seconds", "must be 1..3600")
		}
		if cp.WindowSeconds == 0 {
			cp.WindowSeconds = DefaultAbortWindow.Seconds()
		}
		if cp.MinRequests < 0 {
			v.add("abort_on.min_requests", "must be >= 0")
		}
		p.AbortOn = &cp
	}
}

func (v *validator) compileThresholds(s *Scenario, p *Plan) {
	steps := map[string]*PlanStep{}
	for _, st := range p.Steps {
		steps[st.Name] = st
	}
	for i, t := range s.Thresholds {
		path := fmt.Sprintf("thresholds[%d]", i)
		if t.Expression == "" {
			v.add(path, "is empty")
			continue
		}
		if t.Flow != "" && p.Flow(t.Flow) == nil {
			v.add(path+".flow", "no flow is named %q", t.Flow)
			continue
		}
		st := steps[t.Step]
		switch {
		case t.Step != "" && st == nil:
			v.add(path+".step", "no step is named %q", t.Step)
			continue
		case st != nil && t.Flow != "" && st.Flow != t.Flow:
			v.add(path+".step", "step %q is in flow %q, not %q", t.Step, st.Flow, t.Flow)
			continue
		}
		if (t.Step != "" || t.Flow != "") && (t.Kind == KindRate && t.Metric != MetricRPS || t.Metric.runOnly()) {
			scope := "step"
			if t.Step == "" {
				scope = "flow"
			}
			v.add(path, "%s is not measured per %s", t.Metric, scope)
		}
		p.Thresholds = append(p.Thresholds, t)
	}
}
