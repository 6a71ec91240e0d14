package scenario

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/url"
	"sort"
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
	Slots           []string // variable names by slot
	InitialVars     []string // by slot: the value from variables, else ""
	Feeders         []*PlanFeeder
	Thresholds      []Threshold
	AbortOn         *AbortOn
	HTTP            HTTPOptions
	Timeout         time.Duration
	MaxRedirects    int // 0: redirects are not followed
	GracefulStop    time.Duration
}

// PlanStep is one compiled step.
type PlanStep struct {
	Name    string
	Method  string
	URL     *Template
	Headers []HeaderTemplate // sorted by name; scenario-wide headers first
	Body    *Template        // nil: no body
	Think   ThinkSampler
	Checks  []*CompiledCheck
	Extract []*Extractor
	// NeedBody and NeedHeaders say whether checks or extractors read them, so
	// that the engine can skip keeping them.
	NeedBody, NeedHeaders bool
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

// ThinkSampler draws think times.
type ThinkSampler struct {
	Dist string // "" (none), constant, uniform, normal, exponential
	A, B time.Duration
}

// Sample draws one think time; never negative.
func (t ThinkSampler) Sample(r *rand.Rand) time.Duration {
	var d float64
	switch t.Dist {
	case "constant":
		return t.A
	case "uniform":
		d = float64(t.A) + r.Float64()*float64(t.B-t.A)
	case "normal":
		d = float64(t.A) + r.NormFloat64()*float64(t.B)
	case "exponential":
		d = r.ExpFloat64() * float64(t.A)
	default:
		return 0
	}
	return time.Duration(max(0, math.Round(d)))
}

// Mean returns the distribution's mean (of the unclamped normal).
func (t ThinkSampler) Mean() time.Duration {
	switch t.Dist {
	case "constant", "normal", "exponential":
		return t.A
	case "uniform":
		return (t.A + t.B) / 2
	}
	return 0
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
	p := &Plan{Name: s.Name}
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
	steps := map[string]bool{}
	for _, st := range p.Steps {
		steps[st.Name] = true
	}
	for i, t := range s.Thresholds {
		if t.Expression == "" {
			v.add(fmt.Sprintf("thresholds[%d]", i), "is empty")
			continue
		}
		if t.Step != "" && !steps[t.Step] {
			v.add(fmt.Sprintf("thresholds[%d].step", i), "no step is named %q", t.Step)
			continue
		}
		if t.Step != "" && (t.Kind == KindRate || t.Metric == "dropped_iterations") && t.Metric != "rps" {
			v.add(fmt.Sprintf("thresholds[%d]", i), "%s is not measured per step", t.Metric)
		}
		p.Thresholds = append(p.Thresholds, t)
	}
}

// symbols assigns variable slots and knows which names a step may read.
type symbols struct {
	slot map[string]int
	// firstStep is the step whose extraction first defines a name; -1 for
	// variables and feeder fields, which exist from the start.
	firstStep map[string]int
}

func (sy *symbols) define(p *Plan, name string, step int) int {
	if i, ok := sy.slot[name]; ok {
		if sy.firstStep[name] > step {
			sy.firstStep[name] = step
		}
		return i
	}
	i := len(p.Slots)
	sy.slot[name] = i
	sy.firstStep[name] = step
	p.Slots = append(p.Slots, name)
	p.InitialVars = append(p.InitialVars, "")
	return i
}

// resolverFor returns the resolver used by the templates of step i.
func (sy *symbols) resolverFor(i int) resolver {
	return func(name string) (int, error) {
		slot, ok := sy.slot[name]
		if !ok {
			return 0, fmt.Errorf("unknown variable %q (not in variables, a feeder's fields or an earlier step's extract)", name)
		}
		if first := sy.firstStep[name]; first >= i {
			return 0, fmt.Errorf("variable %q is extracted by steps[%d], not before this step; give it a default in variables to use it earlier", name, first)
		}
		return slot, nil
	}
}

func (v *validator) compileSymbols(s *Scenario, p *Plan) *symbols {
	sy := &symbols{slot: map[string]int{}, firstStep: map[string]int{}}
	names := make([]string, 0, len(s.Variables))
	for k := range s.Variables {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !isName(k) {
			v.add("variables."+k, "is not a valid variable name (letters, digits, _, - and ., starting with a letter or _)")
			continue
		}
		p.InitialVars[sy.define(p, k, -1)] = s.Variables[k]
	}
	v.compileFeeders(s, p, sy)
	for i, st := range s.Steps {
		for j, e := range st.Extract {
			path := fmt.Sprintf("steps[%d].extract[%d].var", i, j)
			if !isName(e.Var) {
				v.add(path, "%q is not a valid variable name", e.Var)
				continue
			}
			sy.define(p, e.Var, i)
		}
	}
	return sy
}

func (v *validator) compileFeeders(s *Scenario, p *Plan, sy *symbols) {
	owner := map[string]string{}
	seen := map[string]bool{}
	for i, f := range s.Feeders {
		path := fmt.Sprintf("feeders[%d]", i)
		pf := &PlanFeeder{Name: f.Name, Mode: f.Mode, Per: f.Per, Partition: f.Partition}
		if pf.Mode == "" {
			pf.Mode = ModeCircular
		}
		if pf.Per == "" {
			pf.Per = PerIteration
		}
		switch {
		case !isName(f.Name):
			v.add(path+".name", "is required: a name of letters, digits, _ and -")
		case seen[f.Name]:
			v.add(path+".name", "another feeder is named %q", f.Name)
		}
		seen[f.Name] = true
		if pf.Mode != ModeCircular && pf.Mode != ModeSequential && pf.Mode != ModeRandom {
			v.add(path+".mode", "must be circular, sequential or random, got %q", f.Mode)
		}
		if pf.Per != PerIteration && pf.Per != PerVU {
			v.add(path+".per", "must be iteration or vu, got %q", f.Per)
		}
		if f.File != "" {
			v.add(path+".file", "files are read only when the scenario is loaded from a file (barrage run FILE); send the records inline as data")
			continue
		}
		fields, err := feederFields(f.Data)
		if err != nil {
			v.add(path+".data", "%v", err)
			continue
		}
		pf.Fields = fields
		for _, field := range fields {
			if !isName(field) {
				v.add(path+".data", "field %q is not a valid variable name", field)
				continue
			}
			if o, dup := owner[field]; dup {
				v.add(path+".data", "field %q is also defined by %s", field, o)
				continue
			}
			if _, isVar := s.Variables[field]; isVar {
				v.add(path+".data", "field %q is also defined in variables", field)
				continue
			}
			owner[field] = "feeder " + f.Name
			pf.Slots = append(pf.Slots, sy.define(p, field, -1))
		}
		if len(pf.Slots) != len(fields) {
			continue
		}
		for _, rec := range f.Data {
			row := make([]string, len(fields))
			for k, field := range fields {
				row[k] = rec[field]
			}
			pf.Records = append(pf.Records, row)
		}
		p.Feeders = append(p.Feeders, pf)
	}
}

func (v *validator) compileSteps(s *Scenario, p *Plan, sy *symbols) {
	if len(s.Steps) == 0 {
		v.add("steps", "at least one step is required")
		return
	}
	if len(s.Steps) > MaxSteps {
		v.add("steps", "%d steps, more than the limit of %d", len(s.Steps), MaxSteps)
		return
	}
	names := map[string]int{}
	for i := range s.Steps {
		st := v.compileStep(s, i, sy)
		if st == nil {
			continue
		}
		if j, dup := names[st.Name]; dup {
			v.add(fmt.Sprintf("steps[%d].name", i), "steps[%d] is named %q too; step names must be unique", j, st.Name)
		}
		names[st.Name] = i
		p.Steps = append(p.Steps, st)
	}
}

func (v *validator) compileStep(s *Scenario, i int, sy *symbols) *PlanStep {
	src := s.Steps[i]
	path := fmt.Sprintf("steps[%d]", i)
	nerr := len(v.errs)
	st := &PlanStep{Name: strings.TrimSpace(src.Name), Method: strings.ToUpper(strings.TrimSpace(src.Method))}
	if st.Method == "" {
		st.Method = "GET"
	}
	if !validToken(st.Method) {
		v.add(path+".method", "%q is not an HTTP method", src.Method)
	}
	if st.Name == "" {
		st.Name = st.Method + " " + src.URLTemplate
	}
	resolve := sy.resolverFor(i)
	st.URL = v.compileURL(path+".url_template", src.URLTemplate, resolve)
	st.Headers = v.compileHeaders(path, s.HTTP.Headers, src.Headers, resolve)
	if src.BodyTemplate != "" {
		t, err := compileTemplate(src.BodyTemplate, resolve)
		if err != nil {
			v.add(path+".body_template", "%v", err)
		}
		st.Body = t
	}
	st.Think = v.compileThink(path, src)
	for j, c := range src.Checks {
		cc, err := compileCheck(c)
		if err != nil {
			v.add(fmt.Sprintf("%s.checks[%d]", path, j), "%v", err)
			continue
		}
		st.Checks = append(st.Checks, cc)
		st.NeedBody = st.NeedBody || cc.NeedsBody()
	}
	for j, e := range src.Extract {
		x, err := compileExtract(e, sy.slot[e.Var])
		if err != nil {
			v.add(fmt.Sprintf("%s.extract[%d]", path, j), "%v", err)
			continue
		}
		st.Extract = append(st.Extract, x)
		st.NeedBody = st.NeedBody || x.NeedsBody()
		st.NeedHeaders = st.NeedHeaders || !x.NeedsBody()
	}
	if len(v.errs) > nerr {
		return nil
	}
	return st
}

func (v *validator) compileURL(path, src string, resolve resolver) *Template {
	if strings.TrimSpace(src) == "" {
		v.add(path, "is required: a path like /api/items or an absolute http(s) URL")
		return nil
	}
	t, err := compileTemplate(src, resolve)
	if err != nil {
		v.add(path, "%v", err)
		return nil
	}
	lower := strings.ToLower(src)
	abs := strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://")
	if !abs && !strings.HasPrefix(src, "/") && !strings.HasPrefix(src, "{{") {
		v.add(path, "%q must start with / (resolved against the target base URL) or be an absolute http(s) URL", src)
		return nil
	}
	if static, ok := t.Static(); ok {
		if _, err := url.Parse(static); err != nil {
			v.add(path, "not a valid URL: %v", err)
		}
	}
	return t
}

func (v *validator) compileHeaders(path string, common, own map[string]string, resolve resolver) []HeaderTemplate {
	var out []HeaderTemplate
	add := func(prefix string, hs map[string]string, skip map[string]string) {
		names := make([]string, 0, len(hs))
		for k := range hs {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, name := range names {
			if _, overridden := skip[name]; overridden {
				continue
			}
			hp := prefix + "." + name
			if !validHeaderName(name) {
				v.add(hp, "is not a valid header name")
				continue
			}
			t, err := compileTemplate(hs[name], resolve)
			if err != nil {
				v.add(hp, "%v", err)
				continue
			}
			out = append(out, HeaderTemplate{Name: name, Value: t})
		}
	}
	add("http.headers", common, own)
	add(path+".headers", own, nil)
	return out
}

func (v *validator) compileThink(path string, st Step) ThinkSampler {
	if st.ThinkTimeMS != nil && st.ThinkTime != nil {
		v.add(path+".think_time", "give think_time_ms or think_time, not both")
		return ThinkSampler{}
	}
	if st.ThinkTimeMS != nil {
		ms := *st.ThinkTimeMS
		if ms < 0 || ms > 3_600_000 {
			v.add(path+".think_time_ms", "must be between 0 and 3600000")
			return ThinkSampler{}
		}
		return ThinkSampler{Dist: "constant", A: time.Duration(ms * float64(time.Millisecond))}
	}
	if st.ThinkTime == nil {
		return ThinkSampler{}
	}
	t := st.ThinkTime
	p := path + ".think_time"
	ts := ThinkSampler{Dist: t.Distribution}
	nonNeg := func(name string, d Duration) {
		if d < 0 {
			v.add(p+"."+name, "must be >= 0")
		}
	}
	positive := func(name string, d Duration) {
		if d <= 0 {
			v.add(p+"."+name, "must be > 0")
		}
	}
	switch t.Distribution {
	case "constant":
		nonNeg("value", t.Value)
		ts.A = t.Value.D()
	case "uniform":
		nonNeg("min", t.Min)
		if t.Max < t.Min {
			v.add(p+".max", "must be >= min")
		}
		ts.A, ts.B = t.Min.D(), t.Max.D()
	case "normal":
		positive("mean", t.Mean)
		nonNeg("stddev", t.StdDev)
		ts.A, ts.B = t.Mean.D(), t.StdDev.D()
	case "exponential":
		positive("mean", t.Mean)
		ts.A = t.Mean.D()
	default:
		v.add(p+".distribution", "must be constant, uniform, normal or exponential, got %q", t.Distribution)
	}
	v.checkThinkFields(p, t)
	return ts
}

// checkThinkFields rejects parameters that the chosen distribution ignores,
// since they are almost certainly a mistake.
func (v *validator) checkThinkFields(p string, t *ThinkTime) {
	allowed := map[string][]string{
		"constant": {"value"}, "uniform": {"min", "max"}, "normal": {"mean", "stddev"}, "exponential": {"mean"},
	}[t.Distribution]
	if allowed == nil {
		return
	}
	given := map[string]bool{"value": t.Value != 0, "min": t.Min != 0, "max": t.Max != 0, "mean": t.Mean != 0, "stddev": t.StdDev != 0}
	for _, name := range []string{"value", "min", "max", "mean", "stddev"} {
		ok := false
		for _, a := range allowed {
			ok = ok || a == name
		}
		if given[name] && !ok {
			v.add(p+"."+name, "is not a parameter of the %s distribution (it takes %s)", t.Distribution, strings.Join(allowed, ", "))
		}
	}
}

func validToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune("\"(),/:;<=>?@[\\]{}", r) {
			return false
		}
	}
	return true
}
