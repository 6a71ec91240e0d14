package tsdb

import (
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/barrage/barrage/internal/fold"
	"github.com/barrage/barrage/internal/hist"
	"github.com/barrage/barrage/internal/profile"
	"github.com/barrage/barrage/internal/scenario"
	"github.com/barrage/barrage/internal/store"
)

// Series names: a contract with dashboards and users (add, never rename).
const (
	seriesRequests = "barrage_requests_total"
	seriesErrors   = "barrage_errors_total"
	seriesDuration = "barrage_request_duration_seconds"
	seriesVUs      = "barrage_vus"
	seriesTarget   = "barrage_target"
	seriesDropped  = "barrage_dropped_iterations_total"
	seriesChecks   = "barrage_checks_total"
	seriesRunInfo  = "barrage_run_info"
	// seriesIterations counts the iterations done (all their steps ran).
	seriesIterations = "barrage_iterations_total"
)

// statusClasses are the status_class label's values, by a status code's
// hundreds (0: no response).
var statusClasses = [6]string{"none", "1xx", "2xx", "3xx", "4xx", "5xx"}

func statusClass(code int) int {
	if code < 100 || code > 599 {
		return 0
	}
	return code / 100
}

// stepTotals is one step's counters, cumulative over the run so far.
type stepTotals struct {
	status  [len(statusClasses)]uint64
	classes [hist.NumClasses]uint64
	checks  [2]uint64 // passed, failed
	buckets []uint64  // by vmrange bucket
	sum     float64   // seconds
	count   uint64
}

// totals is a run's counters after some interval: what its next interval's
// samples add to.
type totals struct {
	steps      []stepTotals
	dropped    uint64
	iterations uint64
}

func newTotals(steps int) *totals {
	t := &totals{steps: make([]stepTotals, steps)}
	for i := range t.steps {
		t.steps[i].buckets = make([]uint64, vmranges.count())
	}
	return t
}

func (t *totals) clone() *totals {
	c := &totals{steps: slices.Clone(t.steps), dropped: t.dropped, iterations: t.iterations}
	for i := range c.steps {
		c.steps[i].buckets = slices.Clone(t.steps[i].buckets)
	}
	return c
}

// add adds one folded interval (acc holds its decoded data).
func (t *totals) add(acc *hist.Accumulator) {
	head := acc.Header()
	t.dropped += head.Dropped
	t.iterations += head.Iterations
	for i := range min(acc.Steps(), len(t.steps)) {
		st, sum := acc.StepSums(i), &t.steps[i]
		for code, n := range st.Status {
			sum.status[statusClass(code)] += n
		}
		for class, n := range st.Classes {
			if class.Valid() {
				sum.classes[class] += n
			}
		}
		sum.checks[0] += st.ChecksPassed
		sum.checks[1] += st.ChecksFailed
		counts, lo := acc.StepCounts(i)
		for j, n := range counts {
			if n <= 0 {
				continue
			}
			low, high := hist.IndexRange(lo + j)
			sum.buckets[vmranges.of(lo+j)] += uint64(n)
			sum.sum += float64(n) * seconds(low+high) / 2
			sum.count += uint64(n)
		}
	}
}

// runLabels is what every series of a run is labelled with.
type runLabels struct {
	id       string
	epoch    time.Time // the run's profile time zero
	scenario string
	// steps[i] is step i's labels, names and values alternating: those of
	// every per-step series (see stepLabels).
	steps   [][]string
	open    bool
	profile profile.Profile
	tags    [][2]string // run_info's extra labels, sorted
}

func labelsOf(r *store.Run, plan *scenario.Plan) *runLabels {
	l := &runLabels{id: r.ID, epoch: r.Epoch, scenario: plan.Name, open: plan.Profile.Model == profile.Open, profile: plan.Profile}
	for _, s := range plan.Steps {
		l.steps = append(l.steps, l.stepLabels(s.Name, s.Flow, s.Tags))
	}
	used := map[string]bool{"run_id": true, "scenario": true, "status": true}
	for _, k := range slices.Sorted(maps.Keys(r.Tags)) {
		// Two keys that come out as one label name (env-x, env_x) keep
		// both values: the later one gets a number.
		name := tagLabel(k)
		for n := 2; used[name]; n++ {
			name = tagLabel(k) + "_" + strconv.Itoa(n)
		}
		used[name] = true
		l.tags = append(l.tags, [2]string{name, r.Tags[k]})
	}
	return l
}

// stepLabels are the labels of a step's series: the run, the scenario,
// the step, its flow (in a scenario with flows) and the step's tags (static per step: they add no series, only
// labels). A new per-step label goes here, its name reserved in package
// scenario (ReservedLabels), which also keeps tags off the labels the
// series add (status_class, class, result, vmrange).
func (l *runLabels) stepLabels(step, flow string, tags map[string]string) []string {
	out := make([]string, 0, 8+2*len(tags))
	out = append(out, "run_id", l.id, "scenario", l.scenario, "step", step)
	if flow != "" {
		out = append(out, "flow", flow)
	}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out = append(out, scenario.TagLabel(k), tags[k])
	}
	return out
}

var notLabel = regexp.MustCompile(`[^a-zA-Z0-9_]`)

// tagLabel turns a run tag's key into a label name: characters a label may
// not hold become _, and a key that would clash with run_info's own labels
// (or starts with a digit or __) gets a tag_ prefix.
func tagLabel(key string) string {
	name := notLabel.ReplaceAllString(key, "_")
	switch {
	case name == "" || name[0] >= '0' && name[0] <= '9' || strings.HasPrefix(name, "__"),
		name == "run_id" || name == "scenario" || name == "status":
		return "tag_" + name
	}
	return name
}

// writer appends samples in Prometheus text format with millisecond
// timestamps, as /api/v1/import/prometheus takes them.
type writer struct {
	b  []byte
	n  int    // samples in b
	ts []byte // " <ms>\n"
	lb []string
}

func (w *writer) reset() { w.b, w.n = w.b[:0], 0 }

func (w *writer) at(t time.Time) {
	w.ts = append(strconv.AppendInt(append(w.ts[:0], ' '), t.UnixMilli(), 10), '\n')
}

// sample writes name{labels} value; labels alternate names and values.
func (w *writer) sample(name string, value float64, labels ...string) {
	w.b = append(w.b, name...)
	w.b = append(w.b, '{')
	for i := 0; i+1 < len(labels); i += 2 {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.b = append(w.b, labels[i]...)
		w.b = append(w.b, '=', '"')
		w.b = appendEscaped(w.b, labels[i+1])
		w.b = append(w.b, '"')
	}
	w.b = append(w.b, '}', ' ')
	w.b = strconv.AppendFloat(w.b, value, 'g', -1, 64)
	w.b = append(w.b, w.ts...)
	w.n++
}

// labels is a step's labels and one more, in a buffer the writer reuses
// (valid until the next call).
func (w *writer) labels(step []string, name, value string) []string {
	w.lb = append(append(w.lb[:0], step...), name, value)
	return w.lb
}

func (w *writer) count(name string, value uint64, labels ...string) {
	w.sample(name, float64(value), labels...)
}

// appendEscaped escapes a label value as the text format wants.
func appendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b = append(b, '\\', '\\')
		case '"':
			b = append(b, '\\', '"')
		case '\n':
			b = append(b, '\\', 'n')
		default:
			b = append(b, c)
		}
	}
	return b
}

// interval writes the samples of one folded interval: the run's totals
// after it (t), its gauges, and run_info, all at the interval's end.
func (w *writer) interval(l *runLabels, status store.Status, row *store.Interval, sum *fold.Summary, t *totals) {
	w.at(row.End)
	w.runInfo(l, status)
	for i := range t.steps {
		var step []string
		if i < len(l.steps) {
			step = l.steps[i]
		} else {
			step = l.stepLabels("step-"+strconv.Itoa(i), "", nil)
		}
		st := &t.steps[i]
		for c, n := range st.status {
			if n > 0 {
				w.count(seriesRequests, n, w.labels(step, "status_class", statusClasses[c])...)
			}
		}
		for c, n := range st.classes {
			if n > 0 {
				w.count(seriesErrors, n, w.labels(step, "class", hist.ErrorClass(c).String())...)
			}
		}
		if st.checks[0]+st.checks[1] > 0 {
			w.count(seriesChecks, st.checks[0], w.labels(step, "result", "passed")...)
			w.count(seriesChecks, st.checks[1], w.labels(step, "result", "failed")...)
		}
		if st.count > 0 {
			for b, n := range st.buckets {
				if n > 0 {
					w.count(seriesDuration+"_bucket", n, w.labels(step, "vmrange", vmranges.name(uint16(b)))...)
				}
			}
			w.sample(seriesDuration+"_sum", st.sum, step...)
			w.count(seriesDuration+"_count", st.count, step...)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(sum.Workers)) {
		w.count(seriesVUs, uint64(sum.Workers[id].VUs), "run_id", l.id, "worker", id)
	}
	target := float64(sum.TargetVUs)
	if l.open {
		// The open model's target is an arrival rate; the fold's TargetVUs
		// is its VU pool.
		target = l.profile.Target(row.End.Sub(l.epoch))
	}
	w.sample(seriesTarget, target, "run_id", l.id)
	w.count(seriesDropped, t.dropped, "run_id", l.id)
	w.count(seriesIterations, t.iterations, "run_id", l.id)
}

func (w *writer) runInfo(l *runLabels, status store.Status) {
	labels := make([]string, 0, 6+2*len(l.tags))
	labels = append(labels, "run_id", l.id, "scenario", l.scenario, "status", string(status))
	for _, kv := range l.tags {
		labels = append(labels, kv[0], kv[1])
	}
	w.sample(seriesRunInfo, 1, labels...)
}
