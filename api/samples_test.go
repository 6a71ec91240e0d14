package api

import "testing"

func TestObservedRunsCapWhatARunKeeps(t *testing.T) {
	var o observedRuns
	kept := 0
	for i := 0; i < 10; i++ {
		if o.take("r1", 0, 8) {
			kept++
		}
	}
	if kept != maxSamplesPerClass {
		t.Fatalf("kept %d samples of one step and class, want %d", kept, maxSamplesPerClass)
	}
	if !o.take("r2", 0, 8) || !o.take("r1", 1, 8) {
		t.Fatal("another run, or another step, has room of its own")
	}
	total := 0
	for step := 0; step < 200; step++ {
		for class := 1; class < 4; class++ {
			if o.take("r3", step, class) {
				total++
			}
		}
	}
	if total != maxSamplesPerRun {
		t.Fatalf("run kept %d samples, want the cap %d", total, maxSamplesPerRun)
	}
	traces := 0
	for i := 0; i < maxTraceEvents+5; i++ {
		if o.take("r4", 0, -1) {
			traces++
		}
	}
	if traces != maxTraceEvents {
		t.Fatalf("run kept %d slow_traces events, want %d", traces, maxTraceEvents)
	}
}
