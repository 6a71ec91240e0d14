package api

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/barrage/barrage/internal/hist"
	"github.com/barrage/barrage/internal/scenario"
	"github.com/barrage/barrage/reports"
)

// What a run keeps of its workers' response samples and slow traces: each
// shard sends a few (the engine's caps), the run keeps at most these.
const (
	maxSamplesPerClass = reports.SamplesPerClass // per step and error class
	maxSamplesPerRun   = 256
	maxTraceEvents     = 1024 // slow_traces events, one per shard attempt
	maxObservationData = 256 << 10
	maxObservedRuns    = 10_000
)

// observedRuns counts, in memory, what each run kept (past maxObservedRuns
// runs it starts over: at worst a run keeps a few more).
type observedRuns struct {
	mu   sync.Mutex
	runs map[string]*observed
}

type observed struct {
	samples map[[2]int]int // step, class → kept
	total   int
	traces  int
}

// take reserves room for one more sample of (step, class), or slow_traces
// event when class < 0; false when the run has all it keeps.
func (o *observedRuns) take(runID string, step, class int) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.runs == nil || len(o.runs) > maxObservedRuns {
		o.runs = map[string]*observed{}
	}
	r := o.runs[runID]
	if r == nil {
		r = &observed{samples: map[[2]int]int{}}
		o.runs[runID] = r
	}
	if class < 0 {
		r.traces++
		return r.traces <= maxTraceEvents
	}
	key := [2]int{step, class}
	if r.samples[key] >= maxSamplesPerClass || r.total >= maxSamplesPerRun {
		return false
	}
	r.samples[key]++
	r.total++
	return true
}

// observationData checks an event's data: only response_sample and
// slow_traces events carry it, and theirs must be what a worker sends. It
// returns the data to store, whether the run keeps the event, and false
// after answering a bad request.
func (s *Server) observationData(c *gin.Context, runID string, req *eventRequest) ([]byte, bool, bool) {
	isObs := req.Kind == reports.KindResponseSample || req.Kind == reports.KindSlowTraces
	switch {
	case !isObs && len(req.Data) > 0:
		fail(c, http.StatusBadRequest, "invalid_field", "data", "only response_sample and slow_traces events carry data")
		return nil, false, false
	case !isObs:
		return nil, true, true
	case len(req.Data) > maxObservationData:
		fail(c, http.StatusBadRequest, "invalid_field", "data", "data is over %d bytes", maxObservationData)
		return nil, false, false
	}
	step, class, err := checkObservation(req.Kind, req.Data)
	if err != nil {
		fail(c, http.StatusBadRequest, "invalid_field", "data", "%s data: %v", req.Kind, err)
		return nil, false, false
	}
	return req.Data, s.observed.take(runID, step, class), true
}

// checkObservation decodes and bounds a response_sample's or slow_traces'
// data; it returns the sample's step and class (class -1: slow traces).
func checkObservation(kind string, data []byte) (int, int, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if kind == reports.KindSlowTraces {
		var t reports.TracesEvent
		if err := dec.Decode(&t); err != nil {
			return 0, 0, err
		}
		return 0, -1, checkTraces(t)
	}
	var s reports.SampleEvent
	if err := dec.Decode(&s); err != nil {
		return 0, 0, err
	}
	cl, err := hist.ParseErrorClass(s.Class)
	switch {
	case err != nil || cl == hist.ClassNone:
		return 0, 0, fmt.Errorf("class %q is not an error class", s.Class)
	case s.Step < 0 || s.Step >= scenario.MaxSteps:
		return 0, 0, fmt.Errorf("step %d is out of range", s.Step)
	case s.Status < 0 || s.Status > 999 || s.Shard < 0:
		return 0, 0, errors.New("status or shard out of range")
	case len(s.Body) > 1024 || len(s.Error) > 512 || len(s.Headers) > 32:
		return 0, 0, errors.New("a sample holds at most 1 KiB of body, 512 bytes of error and 32 headers")
	}
	for k, v := range s.Headers {
		if len(k) > 64 || len(v) > 1024 {
			return 0, 0, fmt.Errorf("header %.64q is too long", k)
		}
	}
	return s.Step, int(cl), nil
}

func checkTraces(t reports.TracesEvent) error {
	if len(t.Steps) > scenario.MaxSteps {
		return fmt.Errorf("%d steps, more than %d", len(t.Steps), scenario.MaxSteps)
	}
	for _, st := range t.Steps {
		if st.Step < 0 || st.Step >= scenario.MaxSteps || len(st.Traces) > reports.SlowestTracesShown {
			return fmt.Errorf("step %d: out of range, or more than %d traces", st.Step, reports.SlowestTracesShown)
		}
		for _, tr := range st.Traces {
			if !hexOf(tr.TraceID, 16) || !hexOf(tr.SpanID, 8) || tr.LatencyMS < 0 || tr.Status < 0 || tr.Status > 999 || len(tr.Class) > 32 {
				return fmt.Errorf("step %d: a trace needs trace_id (32 hex digits), span_id (16), latency_ms >= 0 and a status", st.Step)
			}
		}
	}
	return nil
}

func hexOf(s string, n int) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == n
}
