package activities

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/barrage/barrage/api/client"
	"github.com/barrage/barrage/internal/engine"
	"github.com/barrage/barrage/internal/hist"
	"github.com/barrage/barrage/internal/netpolicy"
	"github.com/barrage/barrage/internal/scenario"
	"github.com/barrage/barrage/internal/wire"
	"github.com/barrage/barrage/reports"
	"github.com/barrage/barrage/workflows"
)

// Timing of a load activity.
const (
	// controlWait is how long one control request waits for a change: a
	// shard learns a new share or an abort as soon as it is published, and
	// asks again about every controlWait when nothing changes.
	controlWait = 5 * time.Second
	// controlRetry is the pause after a failed control request.
	controlRetry = 250 * time.Millisecond
)

// LoadShard runs one shard of a run on this worker: it fetches the run's
// scenario from the server, follows the run's control (profile, shares,
// abort), sends a snapshot every interval to the server's ingest endpoint and
// heartbeats its progress to Temporal. It returns when the profile ends,
// when the run is aborted, or when Temporal cancels it.
func (a *Fleet) LoadShard(ctx context.Context, in workflows.ShardInput) (workflows.ShardResult, error) {
	info := activity.GetInfo(ctx)
	if in.Token == "" && a.FleetToken != "" {
		in.Token = wire.IngestToken(a.FleetToken, in.RunID)
	}
	res := workflows.ShardResult{Shard: in.Shard, Worker: a.WorkerID, Attempt: int(info.Attempt)}
	log := a.log().With("run", in.RunID, "shard", in.Shard, "attempt", info.Attempt)
	// One heartbeat loop from start to end: getting ready (the spec, the
	// start report, the control) may take longer than the heartbeat timeout.
	hb := &beats{}
	hb.set(func() workflows.ShardProgress { return workflows.ShardProgress{Worker: a.WorkerID} })
	stopBeats := make(chan struct{})
	defer close(stopBeats)
	go hb.run(ctx, stopBeats)
	plan, spec, err := a.fetchPlan(ctx, in)
	if err != nil {
		return res, err
	}
	if time.Now().After(in.Epoch.Add(plan.Profile.Duration())) {
		// A replacement or newcomer taken just as the profile ended.
		res.Reason = "the profile was over when the shard started"
		return res, nil
	}
	snd, err := newSender(a.Server, in.RunID, in.Token, a.SpoolDir, log)
	if err != nil {
		return res, invalid("%v", err) // this worker cannot spool: not a reason to try it again
	}
	var prior workflows.ShardProgress
	detail := ""
	if activity.HasHeartbeatDetails(ctx) && activity.GetHeartbeatDetails(ctx, &prior) == nil {
		detail = fmt.Sprintf(" (the previous attempt, on %s, stopped at %s after %d snapshots)", prior.Worker, prior.Offset.Round(time.Millisecond), prior.Snapshots)
	}
	a.reportStart(ctx, in, int(info.Attempt), detail)
	who := a.ref(ctx, in)
	policy, err := a.runPolicy(spec)
	if err != nil {
		return res, invalid("run %s: %v", in.RunID, err)
	}
	secrets, err := a.runSecrets(ctx, in, plan)
	if err != nil {
		return res, err
	}
	first := a.firstControl(ctx, in)
	eng, err := engine.New(engine.Config{
		// Where the load may go: the server's policy for the run, narrowed
		// by this worker's own; checked on every connection.
		Policy:  policy,
		Secrets: secrets,
		Blocked: func(host string, err error) {
			detail := fmt.Sprintf("%s: %v", host, err)
			if host == "" {
				detail = err.Error() // past engine.MaxBlockedHosts
			}
			go a.event(ctx, in, "target_blocked", detail)
		},
		// At most engine.MaxSamples per shard.
		Sample: func(smp engine.Sample) {
			go a.eventData(ctx, in, reports.KindResponseSample, sampleDetail(plan, smp), sampleEvent(smp, in.Shard))
		},
		Plan: plan, BaseURL: spec.TargetBaseURL, RunID: in.RunID, Worker: a.WorkerID,
		// A shard that joined later than the first ones has an index past
		// their count; partitioned feeders split over the first ones.
		Shard: in.Shard, Shards: max(in.Shards, in.Shard+1), Attempt: int(info.Attempt),
		// A replacement or newcomer planned before it was launched waits
		// for a plan with it before it ends for want of VUs.
		Share: initialShare(first, in.Shard), Unplanned: first != nil && len(first.Fractions) <= in.Shard,
		Epoch: in.Epoch, Interval: SnapshotEvery(in), MaxVUs: a.MaxVUs,
		// Sequential feeders' records are claimed for the run, so that no
		// shard — first, replacement or newcomer — uses one twice.
		Claim: func(feeder string, n int) (int, int, error) {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			lo, hi, err := a.Server.ClaimRecords(cctx, in.RunID, in.Token, *who, feeder, n)
			if s := client.StatusOf(err); s >= 400 && s < 500 && s != http.StatusTooManyRequests && s != http.StatusRequestTimeout {
				return 0, 0, &engine.ClaimRefused{Err: err} // asking again would be refused again
			}
			return lo, hi, err
		},
		Sink: func(s *hist.Snapshot) {
			b, err := s.MarshalBinary()
			if err != nil {
				log.Error("encode snapshot", "err", err)
				return
			}
			snd.enqueue(b)
		},
	})
	if err != nil {
		snd.close()
		return res, invalid("%v", err)
	}
	hb.set(func() workflows.ShardProgress { return a.progress(eng, snd) })
	sum, abortedBy := a.drive(ctx, in, who, eng, log)
	a.sendObservations(ctx, in, plan, eng)
	snd.close()
	// Every snapshot of the shard must reach the server, even after an abort.
	dctx, cancel := context.WithTimeout(context.Background(), deliveryGrace)
	defer cancel()
	derr := snd.wait(dctx, func() { activity.RecordHeartbeat(ctx, a.progress(eng, snd)) })
	undelivered := snd.pending()
	if derr != nil {
		snd.abandon()
	}
	delivered, dropped, _, _ := snd.stats()
	res.Reason, res.Snapshots, res.Aborted = sum.Reason, delivered, sum.Aborted
	res.Iterations, res.IterationsDone = eng.Iterations(), iterationsDone(plan, sum)
	if derr != nil {
		res.Reason += fmt.Sprintf("; %d snapshots could not be delivered within %s", undelivered, deliveryGrace)
	}
	iters := ""
	if plan.Iterations > 0 || plan.IterationsPerVU > 0 {
		iters = fmt.Sprintf(", %d iterations started", res.Iterations)
	}
	a.event(ctx, in, "shard_finished", fmt.Sprintf("shard %d attempt %d on worker %s: %s%s, %d snapshots delivered, %d refused%s",
		in.Shard, info.Attempt, a.WorkerID, sum.Reason, iters, delivered, dropped, abortedBy))
	if derr != nil {
		log.Error("snapshots not delivered", "err", derr)
	}
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	return res, nil
}

// runSecrets fetches the values of the secrets the plan reads from the
// server (never through Temporal): they live in this process's memory only.
func (a *Fleet) runSecrets(ctx context.Context, in workflows.ShardInput, plan *scenario.Plan) (map[string]string, error) {
	if len(plan.Secrets) == 0 {
		return nil, nil
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	values, err := a.Server.RunSecrets(sctx, in.RunID, in.Token)
	if s := client.StatusOf(err); s >= 400 && s < 500 {
		return nil, invalid("secrets of run %s: %v", in.RunID, err)
	}
	if err != nil {
		return nil, fmt.Errorf("secrets of run %s: %w", in.RunID, err)
	}
	return values, nil
}

// runPolicy is the run's target policy as the server sent it, narrowed by
// this worker's own (nil: no policy on either side).
func (a *Fleet) runPolicy(spec *client.RunSpec) (*netpolicy.Policy, error) {
	var server *netpolicy.Policy
	if spec.TargetPolicy != nil {
		p, err := netpolicy.Parse(spec.TargetPolicy.Allow)
		if err != nil {
			return nil, fmt.Errorf("the server's target policy: %w", err)
		}
		server = p
	}
	return netpolicy.Narrow(server, a.Policy), nil
}

// fetchPlan reads the run's spec from the server, retrying for a while, and
// compiles its scenario.
func (a *Fleet) fetchPlan(ctx context.Context, in workflows.ShardInput) (*scenario.Plan, *client.RunSpec, error) {
	var spec *client.RunSpec
	var err error
	for attempt := 0; attempt < 20; attempt++ {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		spec, err = a.Server.Spec(sctx, in.RunID, in.Token)
		cancel()
		s := client.StatusOf(err)
		if err == nil || s == http.StatusNotFound || s == http.StatusUnauthorized || s == http.StatusForbidden || ctx.Err() != nil {
			break
		}
		time.Sleep(time.Second)
	}
	if err != nil {
		if s := client.StatusOf(err); s == http.StatusNotFound || s == http.StatusUnauthorized || s == http.StatusForbidden {
			return nil, nil, invalid("spec of run %s: %v", in.RunID, err)
		}
		return nil, nil, fmt.Errorf("spec of run %s: %w", in.RunID, err)
	}
	s, err := scenario.ParseJSON(spec.Scenario)
	if err != nil {
		return nil, nil, invalid("scenario of run %s: %v", in.RunID, err)
	}
	plan, err := scenario.Compile(s)
	if err != nil {
		return nil, nil, invalid("scenario of run %s: %v", in.RunID, err)
	}
	return plan, spec, nil
}

// drive runs the engine while following the run's control and Temporal's
// cancellation.
// It returns the engine's summary and, when the run was aborted, by whom.
func (a *Fleet) drive(ctx context.Context, in workflows.ShardInput, who *client.ShardRef, eng *engine.Engine, log interface {
	Warn(string, ...any)
}) (engine.Summary, string) {
	runCtx, stop := context.WithCancel(context.Background())
	defer stop()
	var wg sync.WaitGroup
	var mu sync.Mutex
	abortedBy := ""
	abort := func(why string) {
		mu.Lock()
		if abortedBy == "" {
			abortedBy = why
		}
		mu.Unlock()
		stop()
	}
	wg.Add(3)
	go func() {
		defer wg.Done()
		// Temporal's cancellation (the shard handed elsewhere, the run's
		// deadline) arrives through the heartbeats; an abort sooner,
		// through the control.
		select {
		case <-ctx.Done():
			abort("cancelled by Temporal")
		case <-runCtx.Done():
		}
	}()
	go func() {
		defer wg.Done()
		a.watchTemporal(runCtx, abort)
	}()
	go func() {
		defer wg.Done()
		a.followControl(runCtx, in, who, eng, abort, log)
	}()
	sum, _ := eng.Run(runCtx)
	stop()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if abortedBy != "" {
		abortedBy = " (" + abortedBy + ")"
	}
	return sum, abortedBy
}

// watchTemporal stops the load when this worker has been cut off from
// Temporal for longer than the heartbeat timeout: by then the run has
// declared the shard lost and given its share to others, and going on would
// double the load on the target. Snapshots are still delivered.
func (a *Fleet) watchTemporal(runCtx context.Context, abort func(string)) {
	if a.TemporalHealthy == nil {
		return
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-runCtx.Done():
			return
		case <-t.C:
			if since := time.Since(a.TemporalHealthy()); since > workflows.HeartbeatTimeout {
				abort(fmt.Sprintf("cut off from Temporal for %s: the shard was handed over", since.Round(time.Second)))
				return
			}
		}
	}
}

func (a *Fleet) progress(eng *engine.Engine, snd *sender) workflows.ShardProgress {
	delivered, _, _, _ := snd.stats()
	return workflows.ShardProgress{Worker: a.WorkerID, Offset: eng.Offset(), Snapshots: delivered}
}

// beats heartbeats a load activity from its start to its end, with the
// progress its latest set gave: first at firstBeat, then every
// workflows.HeartbeatEvery.
type beats struct {
	progress atomic.Pointer[func() workflows.ShardProgress]
}

func (b *beats) set(f func() workflows.ShardProgress) { b.progress.Store(&f) }

func (b *beats) run(ctx context.Context, stop <-chan struct{}) {
	t := time.NewTimer(firstBeat())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-stop:
			return
		case <-t.C:
		}
		activity.RecordHeartbeat(ctx, (*b.progress.Load())())
		t.Reset(workflows.HeartbeatEvery)
	}
}

// firstBeat is when a shard heartbeats first: at a random point of the
// second and third thirds of HeartbeatEvery. The shards of a fleet that
// start together then spread their heartbeats over the period rather than
// sending them in one burst, which a busy Temporal answers late — and the
// SDK cancels an activity whose heartbeat is not answered in time.
func firstBeat() time.Duration {
	return workflows.HeartbeatEvery/3 + rand.N(workflows.HeartbeatEvery*2/3) // #nosec G404 -- jitter that spreads a fleet's heartbeats, no secret
}

// followControl follows the run's control — each request waits for a
// newer version — and applies changes to the engine.
func (a *Fleet) followControl(runCtx context.Context, in workflows.ShardInput, who *client.ShardRef, eng *engine.Engine, abort func(string), log interface {
	Warn(string, ...any)
}) {
	version := 0
	for runCtx.Err() == nil {
		cctx, cancel := context.WithTimeout(runCtx, controlWait+5*time.Second)
		c, err := a.Server.ControlFor(cctx, in.RunID, in.Token, who, version, controlWait)
		cancel()
		switch {
		case err != nil:
			if runCtx.Err() == nil {
				log.Warn("control request failed", "err", err)
			}
			select {
			case <-runCtx.Done():
			case <-time.After(controlRetry):
			}
		case c.Aborted:
			abort(c.Reason)
			return
		case c.Version > version:
			version = c.Version
			if len(c.Fractions) > in.Shard {
				if err := eng.SetShare(c.Fractions); err != nil {
					log.Warn("control: share", "err", err)
				}
			}
			if len(c.Profile.Stages) > 0 {
				if err := eng.SetProfile(c.Profile); err != nil {
					log.Warn("control: profile", "err", err)
				}
			}
			if c.IterationsDone {
				eng.IterationsDone()
			}
		}
	}
}

// firstControl reads the run's control once before the shard starts (nil
// when it cannot be had soon: the shard then starts on the run's first plan
// and follows the control as soon as it gets it).
func (a *Fleet) firstControl(ctx context.Context, in workflows.ShardInput) *workflows.Control {
	for attempt := 0; attempt < 3 && ctx.Err() == nil; attempt++ {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		c, err := a.Server.Control(cctx, in.RunID, in.Token)
		cancel()
		if err == nil {
			return c
		}
		time.Sleep(controlRetry)
	}
	return nil
}

// initialShare is the share a shard starts with. The run's first shards
// start on the first plan (nil: equal parts). A later shard — a
// replacement, a newcomer — starts with the published fractions, its own
// being zero until the workflow replans with it; it takes everything when
// no shard has any load.
func initialShare(c *workflows.Control, shard int) []float64 {
	if c == nil || len(c.Fractions) == 0 {
		return nil
	}
	f := make([]float64, max(len(c.Fractions), shard+1))
	copy(f, c.Fractions)
	for _, v := range f {
		if v > 0 {
			return f
		}
	}
	f[shard] = 1
	return f
}

// reportStart tells the run's workflow, through the server, that this
// worker took the shard and what it can carry; the workflow counts the shard
// from then on. It retries for a while: without it the shard still runs, but
// the workflow plans with less knowledge of the fleet, and an elastic run
// waits for it before it queues a newcomer.
func (a *Fleet) reportStart(ctx context.Context, in workflows.ShardInput, attempt int, detail string) {
	st := client.ShardState{Shard: in.Shard, Attempt: attempt, Worker: a.WorkerID, MaxVUs: a.MaxVUs, MaxRPS: a.MaxRPS, Detail: detail}
	deadline := time.Now().Add(60 * time.Second)
	for {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := a.Server.ShardStarted(rctx, in.RunID, in.Token, st)
		cancel()
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			if err != nil {
				a.log().Warn("report shard start", "run", in.RunID, "shard", in.Shard, "err", err)
			}
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (a *Fleet) event(ctx context.Context, in workflows.ShardInput, kind, detail string) {
	ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := a.Server.PostShardEvent(ectx, in.RunID, in.Token, a.ref(ctx, in), kind, detail); err != nil {
		a.log().Warn("record event", "run", in.RunID, "kind", kind, "err", err)
	}
}

// ref names the shard this activity runs, for the server's requests.
func (a *Fleet) ref(ctx context.Context, in workflows.ShardInput) *client.ShardRef {
	return &client.ShardRef{Shard: in.Shard, Attempt: int(activity.GetInfo(ctx).Attempt), Worker: a.WorkerID}
}

// SnapshotEvery is how often the shard sends a snapshot: every interval,
// or in parts of it for smaller fleets, so that a worker killed loses less
// of its load unmeasured — 250 ms for runs of up to 250 first shards, half
// an interval up to 500. The fleet's snapshots stay at about 1,000 a
// second at most, what the server was measured to carry (docs/capacity.md);
// the server folds a shard's parts of an interval together.
func SnapshotEvery(in workflows.ShardInput) time.Duration {
	if in.IntervalMS <= 0 {
		return 0 // the engine's default
	}
	iv := time.Duration(in.IntervalMS) * time.Millisecond
	parts := 1
	switch {
	case in.Shards <= 250:
		parts = 4
	case in.Shards <= 500:
		parts = 2
	}
	if iv%time.Duration(parts) != 0 || iv/time.Duration(parts) < 100*time.Millisecond {
		return iv
	}
	return iv / time.Duration(parts)
}

// iterationsDone tells the run's workflow that the shard ended because the
// run's iterations are done, and which kind.
func iterationsDone(plan *scenario.Plan, sum engine.Summary) string {
	switch {
	case sum.Reason != engine.ReasonIterationsDone:
		return ""
	case plan.IterationsPerVU > 0:
		return workflows.IterationsPerVU
	}
	return workflows.IterationsShared
}
