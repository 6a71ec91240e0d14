package reports

import (
	"fmt"
	"testing"
)

func TestObservationsMergeIntoSteps(t *testing.T) {
	in := Input{}
	for i := 0; i < 5; i++ {
		in.Samples = append(in.Samples, SampleEvent{Step: 1, Sample: Sample{Class: "http_5xx", Status: 500, Shard: i}})
	}
	in.Samples = append(in.Samples, SampleEvent{Step: 1, Sample: Sample{Class: "http_4xx", Status: 404}}, SampleEvent{Step: 9, Sample: Sample{Class: "http_4xx"}})
	// Three shards' slowest of step 0; a retried shard sends one again.
	for shard := 0; shard < 3; shard++ {
		var traces []SlowTrace
		for k := 0; k < 5; k++ {
			traces = append(traces, SlowTrace{TraceID: fmt.Sprintf("%032d", shard*10+k), SpanID: "0000000000000001", LatencyMS: float64(shard*10 + k), Shard: shard})
		}
		in.Traces = append(in.Traces, TracesEvent{Steps: []StepTraces{{Step: 0, Traces: traces}}})
	}
	in.Traces = append(in.Traces, in.Traces[2])
	steps := make([]Step, 2)
	attachObservations(steps, in)
	s := steps[1].Samples
	if len(s) != 4 || s[0].Class != "http_4xx" || s[1].Class != "http_5xx" || s[3].Shard != 2 {
		t.Fatalf("samples of step 1: %+v", s)
	}
	tr := steps[0].SlowestTraces
	if len(tr) != SlowestTracesShown || tr[0].LatencyMS != 24 || tr[4].LatencyMS != 20 || len(steps[1].SlowestTraces) != 0 {
		t.Fatalf("slowest traces of step 0: %+v", tr)
	}
}
