package activities

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/barrage/barrage/internal/engine"
	"github.com/barrage/barrage/internal/scenario"
	"github.com/barrage/barrage/reports"
	"github.com/barrage/barrage/workflows"
)

// sampleEvent is what the server keeps of an engine's sample.
func sampleEvent(s engine.Sample, shard int) reports.SampleEvent {
	ev := reports.SampleEvent{Step: s.Step, Sample: reports.Sample{
		Class: s.Class.String(), Status: s.Status, Error: s.Error, Body: s.Body, Truncated: s.Truncated, Partial: s.Partial, Shard: shard,
	}}
	if len(s.Header) > 0 {
		ev.Headers = make(map[string]string, len(s.Header))
		for _, h := range s.Header {
			if v, dup := ev.Headers[h.Name]; dup {
				ev.Headers[h.Name] = v + ", " + h.Value
				continue
			}
			ev.Headers[h.Name] = h.Value
		}
		for k, v := range ev.Headers {
			if len(v) > 1024 {
				ev.Headers[k] = v[:1024]
			}
		}
	}
	return ev
}

// sampleDetail is a sample event's line of the run's timeline.
func sampleDetail(plan *scenario.Plan, s engine.Sample) string {
	name := fmt.Sprint(s.Step)
	if s.Step < len(plan.Steps) {
		name = plan.Steps[s.Step].Name
	}
	what := fmt.Sprintf("status %d", s.Status)
	if s.Status == 0 {
		what = strings.SplitN(s.Error, "\n", 2)[0]
	}
	return fmt.Sprintf("step %q: a %s sample (%s)", name, s.Class, what)
}

// tracesEvent is what the server keeps of a shard's slowest traced
// requests; nil when the shard traced none.
func tracesEvent(slow [][]engine.TracedRequest, shard int) *reports.TracesEvent {
	ev := &reports.TracesEvent{}
	for i, list := range slow {
		if len(list) == 0 {
			continue
		}
		st := reports.StepTraces{Step: i}
		for _, tr := range list {
			st.Traces = append(st.Traces, reports.SlowTrace{
				TraceID: hex.EncodeToString(tr.TraceID[:]), SpanID: hex.EncodeToString(tr.SpanID[:]),
				LatencyMS: float64(tr.Latency.Microseconds()) / 1000, Status: tr.Status, Class: tr.Class.String(), Shard: shard,
			})
		}
		ev.Steps = append(ev.Steps, st)
	}
	if len(ev.Steps) == 0 {
		return nil
	}
	return ev
}

// sendObservations sends, once the shard's load is over, the samples of
// failures no response was captured for and the shard's slowest traced
// requests. What a worker that dies first had is lost (docs/scenarios.md).
func (a *Fleet) sendObservations(ctx context.Context, in workflows.ShardInput, plan *scenario.Plan, eng *engine.Engine) {
	for _, s := range eng.PartialSamples() {
		a.eventData(ctx, in, reports.KindResponseSample, sampleDetail(plan, s), sampleEvent(s, in.Shard))
	}
	if ev := tracesEvent(eng.SlowTraces(), in.Shard); ev != nil {
		a.eventData(ctx, in, reports.KindSlowTraces, fmt.Sprintf("shard %d: its slowest traced requests of %d steps", in.Shard, len(ev.Steps)), ev)
	}
}

func (a *Fleet) eventData(ctx context.Context, in workflows.ShardInput, kind, detail string, data any) {
	ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := a.Server.PostShardEventData(ectx, in.RunID, in.Token, a.ref(ctx, in), kind, detail, data); err != nil {
		a.log().Warn("record event", "run", in.RunID, "kind", kind, "err", err)
	}
}
