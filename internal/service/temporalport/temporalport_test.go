package temporalport

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	sdkclient "go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/barrage/barrage/internal/devserver"
	"github.com/barrage/barrage/internal/service"
	"github.com/barrage/barrage/internal/store"
	"github.com/barrage/barrage/internal/wire"
	"github.com/barrage/barrage/workflows"
)

// TestPortOnTemporal drives the adapter against the embedded Temporal: a
// started run's workflow receives each signal under its name; a run
// without a workflow answers service.ErrNoWorkflow.
func TestPortOnTemporal(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := devserver.Start(ctx, devserver.Options{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Stop() }()
	tc, err := sdkclient.DialContext(ctx, sdkclient.Options{HostPort: srv.FrontendAddr(), Namespace: srv.Namespace(),
		Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	p := New(tc)

	gone := &store.Run{ID: "run_gone", WorkflowID: "run_gone"}
	if err := p.Abort(ctx, gone, "ann", "x", false); !errors.Is(err, service.ErrNoWorkflow) {
		t.Fatalf("abort of a run without a workflow: %v", err)
	}
	if err := p.ShardSilent(ctx, gone, 0, "w", "x"); !errors.Is(err, service.ErrNoWorkflow) {
		t.Fatalf("a silent shard of a run without a workflow: %v", err)
	}

	// No worker polls the control queue: the workflow waits, and keeps
	// the signals in its history.
	r := &store.Run{ID: "run_port", WorkflowID: "run_port"}
	if err := p.Start(ctx, r); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tc.TerminateWorkflow(context.Background(), r.WorkflowID, "", "test over") }()
	for _, err := range []error{
		p.ShardsStarted(ctx, r.WorkflowID, []wire.ShardState{{Shard: 0, Attempt: 1, Worker: "w-1", MaxVUs: 10}}),
		p.Ramp(ctx, r, 20, 5*time.Second, "ann"),
		p.ShardSilent(ctx, r, 0, "w-1", "silent"),
		p.Abort(ctx, r, "ann", "enough", false),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	var types []string
	it := tc.GetWorkflowHistory(ctx, r.WorkflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		types = append(types, e.GetEventType().String())
		if a := e.GetWorkflowExecutionSignaledEventAttributes(); a != nil {
			got = append(got, a.GetSignalName())
		}
		if a := e.GetWorkflowExecutionStartedEventAttributes(); a != nil && a.GetTaskQueue().GetName() != workflows.ControlQueue {
			t.Errorf("started on task queue %q", a.GetTaskQueue().GetName())
		}
	}
	want := []string{workflows.SignalShardStates, workflows.SignalRamp, workflows.SignalShardSilent, workflows.SignalAbort}
	if !slices.Equal(got, want) {
		t.Fatalf("signals %v, want %v (history %v)", got, want, types)
	}
}
