package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/barrage/barrage/internal/h1"
	"github.com/barrage/barrage/internal/hist"
	"github.com/barrage/barrage/internal/netpolicy"
	"github.com/barrage/barrage/internal/profile"
	"github.com/barrage/barrage/internal/scenario"
)

// Defaults of Config.
const (
	DefaultInterval = time.Second
	// AbortGrace is how long an abort lets requests in flight finish (and be
	// recorded) before it closes their connections.
	AbortGrace = time.Second
	// controlTick is how often the closed model re-reads its target: the
	// engine follows a changed share or profile within this.
	controlTick = 100 * time.Millisecond
)

// Config describes one shard's work.
type Config struct {
	Plan    *scenario.Plan
	BaseURL string // the target's base URL; step URLs that are paths are resolved against it

	// Identity, stamped on every snapshot.
	RunID   string
	Worker  string
	Shard   int // this shard's index, for $shard, feeder partitions and Share
	Shards  int // how many shards the run has
	Attempt int

	// Share is this shard's part of the global profile; nil means all of it.
	Share []float64
	// Unplanned: Share is not from a plan that counts this shard yet (a
	// replacement, a newcomer, started on the plan before it), so its
	// zero part is no reason to end: a shard with iterations waits for
	// SetShare before it ends for want of VUs.
	Unplanned bool
	// Epoch is the wall-clock time of profile time zero. A shard that starts
	// late, or is retried, joins the profile where it is now; snapshot
	// intervals are aligned to Epoch so that shards' intervals line up.
	// Zero: the engine's start.
	Epoch time.Time
	// Interval between snapshots; DefaultInterval when zero.
	Interval time.Duration
	// MaxVUs caps this worker's concurrent VUs (its declared capacity); 0: none.
	MaxVUs int
	// Sink receives every snapshot, in order, from one goroutine. It must not
	// block for long: it delays the next snapshot.
	Sink func(*hist.Snapshot)
	// Seed makes random choices (think times, feeders, templates) repeatable.
	Seed uint64
	// Claim, when set, hands this shard the next n records (indexes
	// [lo, hi); lo == hi: none left) of a sequential feeder, claimed for
	// the whole run: shards never use a record twice, a replacement or a
	// newcomer takes records no shard has reached. Without it, sequential
	// feeders hand out this shard's records (its partition, or all).
	Claim func(feeder string, n int) (lo, hi int, err error)
	// Secrets are the values of the plan's {{ secret.NAME }}, by name;
	// each one the plan reads must be here. They live in the VUs'
	// variables only: nothing the engine reports holds them.
	Secrets map[string]string
	// Policy, when set, is checked on every connection's resolved address
	// before it connects, over every transport and for every redirect;
	// a refused request is an error of class blocked. Nil: no check.
	Policy *netpolicy.Policy
	// Blocked, when set, is called the first time a connection to a host
	// (the name or address dialled) is refused by Policy, once per host,
	// with the *netpolicy.BlockedError. It is called from the VUs'
	// goroutines, any of them, and must not block.
	Blocked func(host string, err error)
	// Sample, when set, receives samples of failed responses: at most
	// SamplesPerClass per step and error class, MaxSamples in all (see
	// samples.go). It is called from the VUs' goroutines and must not
	// block. PartialSamples adds, after Run, failures none captured.
	Sample func(Sample)
}

// Summary is how a shard's run ended.
type Summary struct {
	Reason    string // "completed", "aborted", or why load stopped early
	Aborted   bool
	Snapshots uint64
	Elapsed   time.Duration // profile time at the end
	// Dials and Reuses count new connections and requests that reused one
	// (plain HTTP/1.1 only): many dials mean the target closes connections
	// or concurrency keeps growing.
	Dials, Reuses uint64
}

// Engine runs one shard of a scenario.
type Engine struct {
	cfg         Config
	plan        *scenario.Plan
	rec         *hist.Recorder
	steps       []*stepRT
	flows       []*flowRT
	flowSplit   *flowSplit
	feeds       []*feed
	iters       *iterations // nil: the plan has none
	planned     atomic.Bool // its share is from a plan that counts it (Config.Unplanned)
	tr          *transports
	wantHeaders []string // response headers that cookies and redirects need
	initialVars []string // the plan's, with the secrets' values
	seed        uint64
	epoch       time.Time
	interval    time.Duration

	mu        sync.Mutex
	prof      profile.Profile
	share     []float64
	vuSplit   *profile.Splitter
	version   uint64 // bumped by every share or profile change
	changed   chan struct{}
	endReason string

	ending     chan struct{} // closed when no new iteration may start
	endOnce    sync.Once
	hard       chan struct{} // closed when in-flight requests are cut off
	hardOnce   sync.Once
	hardFlag   atomic.Bool
	abortFlag  atomic.Bool // no new request may start
	active     atomic.Int64
	target     atomic.Int64
	seq        atomic.Uint64
	vus        sync.WaitGroup
	nextVUID   atomic.Int64
	lastOffset atomic.Int64
	blocked    sync.Map // hosts Config.Blocked was called for
	// blockedHosts counts the hosts reported (and the one report past
	// MaxBlockedHosts).
	blockedHosts atomic.Int64
	obs          *observer // response samples, slowest traced requests
}

// credential: a header not to send to another origin on a redirect.
func (e *Engine) credential(h h1.Header) bool {
	if strings.EqualFold(h.Name, "Authorization") || strings.EqualFold(h.Name, "Proxy-Authorization") {
		return true
	}
	for _, v := range e.cfg.Secrets {
		if v != "" && strings.Contains(h.Value, v) {
			return true
		}
	}
	return false
}

// New prepares a shard; nothing runs until Run.
func New(cfg Config) (*Engine, error) {
	if cfg.Plan == nil {
		return nil, errors.New("engine: no plan")
	}
	if cfg.Shards <= 0 {
		cfg.Shards = 1
	}
	if cfg.Shards > math.MaxInt32 || cfg.Attempt < 0 || cfg.Attempt > math.MaxInt32 {
		return nil, fmt.Errorf("engine: %d shards or attempt %d out of range", cfg.Shards, cfg.Attempt)
	}
	if cfg.Shard < 0 || cfg.Shard >= cfg.Shards {
		return nil, fmt.Errorf("engine: shard %d out of range 0..%d", cfg.Shard, cfg.Shards-1)
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	vars := append([]string(nil), cfg.Plan.InitialVars...)
	for _, sec := range cfg.Plan.Secrets {
		v, ok := cfg.Secrets[sec.Name]
		if !ok {
			return nil, fmt.Errorf("engine: secret %s is not set", sec.Name)
		}
		vars[sec.Slot] = v
	}
	e := &Engine{
		initialVars: vars,
		cfg:         cfg, plan: cfg.Plan, rec: hist.NewRecorder(len(cfg.Plan.Steps)), seed: cfg.Seed,
		interval: cfg.Interval, prof: cfg.Plan.Profile,
		changed: make(chan struct{}, 1), ending: make(chan struct{}), hard: make(chan struct{}),
	}
	if e.seed == 0 {
		e.seed = rand.Uint64() // #nosec G404 -- seeds think times and template values, no secret (Config.Seed makes them reproducible)
	}
	if err := e.setShare(cfg.Share); err != nil {
		return nil, err
	}
	e.planned.Store(!cfg.Unplanned)
	if err := e.prepareSteps(); err != nil {
		return nil, err
	}
	if err := e.prepareFlows(); err != nil {
		return nil, err
	}
	e.obs = newObserver(cfg, len(e.steps))
	e.iters = newIterations(cfg.Plan, cfg, e.vuSplit, e.ending)
	for _, pf := range cfg.Plan.Feeders {
		f, err := newFeed(pf, cfg.Shard, cfg.Shards, cfg.Claim, e.ending)
		if err != nil {
			return nil, fmt.Errorf("engine: %w", err)
		}
		e.feeds = append(e.feeds, f)
	}
	if !e.plan.HTTP.NoCookies {
		e.wantHeaders = append(e.wantHeaders, "set-cookie")
	}
	if e.plan.MaxRedirects > 0 {
		e.wantHeaders = append(e.wantHeaders, "location")
	}
	e.tr = newTransports(e.plan.HTTP.HTTP2, e.plan.HTTP.InsecureSkipVerify, e.plan.MaxVUs, cfg.Policy)
	return e, nil
}

func (e *Engine) prepareSteps() error {
	var base endpoint
	if e.cfg.BaseURL != "" {
		ep, target, err := parseEndpoint(e.cfg.BaseURL)
		if err != nil {
			return fmt.Errorf("engine: base URL: %w", err)
		}
		if strings.Contains(target, "?") {
			return fmt.Errorf("engine: base URL %q: a query is not allowed", e.cfg.BaseURL)
		}
		ep.prefix = strings.TrimSuffix(target, "/")
		base = ep
	}
	for i, ps := range e.plan.Steps {
		st := &stepRT{PlanStep: ps, index: i, ep: base, body: newStepBody(ps)}
		src := ps.URL.Source()
		lower := strings.ToLower(src)
		st.absolute = strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://") || strings.HasPrefix(src, "{{")
		if !st.absolute && e.cfg.BaseURL == "" {
			return fmt.Errorf("engine: step %q has the relative URL %q and no base URL was given", ps.Name, src)
		}
		if static, ok := ps.URL.Static(); ok {
			st.isStatic = true
			if st.absolute {
				ep, target, err := parseEndpoint(static)
				if err != nil {
					return fmt.Errorf("engine: step %q: %w", ps.Name, err)
				}
				st.ep, st.static = ep, target
			} else {
				st.static = base.prefix + static
			}
		}
		e.steps = append(e.steps, st)
	}
	return nil
}

// SetShare changes the run's fractions (this shard's own is Share[Shard]) at
// any moment; the engine follows within controlTick, keeping running VUs.
func (e *Engine) SetShare(share []float64) error {
	if err := e.setShare(share); err != nil {
		return err
	}
	e.planned.Store(true)
	e.poke()
	return nil
}

func (e *Engine) setShare(share []float64) error {
	if share == nil {
		share = make([]float64, e.cfg.Shards)
		for i := range share {
			share[i] = 1 / float64(e.cfg.Shards)
		}
	}
	// A run's shards can outnumber its first ones (workers joined); the
	// fractions must at least cover this shard.
	if len(share) <= e.cfg.Shard {
		return fmt.Errorf("engine: share has %d fractions; shard %d has none", len(share), e.cfg.Shard)
	}
	norm, err := profile.Normalize(share)
	if err != nil {
		return fmt.Errorf("engine: share: %w", err)
	}
	sp, err := profile.NewSplitter(norm)
	if err != nil {
		return fmt.Errorf("engine: share: %w", err)
	}
	e.mu.Lock()
	e.share, e.vuSplit = norm, sp
	e.version++
	e.mu.Unlock()
	return nil
}

// SetProfile replaces the global profile, e.g. with profile.Retarget for a
// ramp; the engine follows within controlTick.
func (e *Engine) SetProfile(p profile.Profile) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("engine: profile: %w", err)
	}
	if p.Model != e.plan.Profile.Model {
		return errors.New("engine: a profile cannot change model mid-run")
	}
	e.mu.Lock()
	e.prof = p
	e.version++
	e.mu.Unlock()
	e.poke()
	return nil
}

func (e *Engine) poke() {
	select {
	case e.changed <- struct{}{}:
	default:
	}
}

// shareState is the load this shard follows at one moment.
type shareState struct {
	prof    profile.Profile
	frac    float64
	split   *profile.Splitter
	version uint64
}

// current returns the profile and this shard's fraction and VU splitter.
func (e *Engine) current() shareState {
	e.mu.Lock()
	defer e.mu.Unlock()
	return shareState{prof: e.prof, frac: e.share[e.cfg.Shard], split: e.vuSplit, version: e.version}
}

// offset is the profile time now.
func (e *Engine) offset() time.Duration { return time.Since(e.epoch) }

// Offset returns the profile time the engine has reached: what a retry of
// the shard resumes from (it is also implied by Epoch).
func (e *Engine) Offset() time.Duration { return time.Duration(e.lastOffset.Load()) }

// ActiveVUs returns the VUs running now (closed) or busy now (open).
func (e *Engine) ActiveVUs() int { return int(e.active.Load()) }

// Run generates load until the profile ends or ctx is cancelled (an abort:
// new requests stop at once, requests in flight get AbortGrace to finish,
// then their connections are closed). Every snapshot has reached Sink when
// Run returns.
func (e *Engine) Run(ctx context.Context) (Summary, error) {
	// Get ready before the epoch, so that connecting is not measured.
	var pool *openPool
	if e.plan.Profile.Model == profile.Open {
		pool = e.newOpenPool()
	}
	e.epoch = e.cfg.Epoch
	if e.epoch.IsZero() {
		e.epoch = time.Now()
	}
	if wait := time.Until(e.epoch); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
	flushDone := make(chan struct{})
	stopFlush := make(chan struct{})
	go e.flushLoop(stopFlush, flushDone)

	if pool != nil {
		e.runOpen(ctx, pool)
	} else {
		e.runClosed(ctx)
	}
	aborted := ctx.Err() != nil
	if aborted {
		e.abortFlag.Store(true)
	}
	// An abort during the graceful stop cuts it short too.
	aborted = e.stop(ctx, aborted)
	close(stopFlush)
	<-flushDone
	e.tr.close()

	sum := Summary{Snapshots: e.seq.Load(), Elapsed: e.Offset(), Aborted: aborted}
	sum.Dials, sum.Reuses = e.tr.fast.Stats()
	e.mu.Lock()
	sum.Reason = e.endReason
	e.mu.Unlock()
	switch {
	case aborted:
		sum.Reason = "aborted"
	case sum.Reason == "":
		sum.Reason = "completed"
	}
	return sum, nil
}

// stop ends the run: no new iterations, then a bounded wait for the ones in
// flight, then the hard stop.
// stop ends the run: no new iteration starts; those in flight get the
// graceful stop (AbortGrace when aborted, or when ctx ends during the
// graceful stop). It reports whether the run ended aborted.
func (e *Engine) stop(ctx context.Context, aborted bool) bool {
	e.endOnce.Do(func() { close(e.ending) })
	grace := e.plan.GracefulStop
	if aborted {
		grace = min(grace, AbortGrace)
	}
	done := make(chan struct{})
	go func() { e.vus.Wait(); close(done) }()
	deadline := time.Now().Add(grace)
	timer := time.NewTimer(grace)
	defer timer.Stop()
	abortCh := ctx.Done()
	if aborted {
		abortCh = nil
	}
	for {
		select {
		case <-done:
			return aborted
		case <-abortCh:
			// Aborted during the graceful stop: no new request, and those
			// in flight get what is left of AbortGrace at most.
			aborted, abortCh = true, nil
			e.abortFlag.Store(true)
			timer.Reset(min(time.Until(deadline), AbortGrace))
		case <-timer.C:
			e.hardStop()
			<-done
			return aborted
		}
	}
}

func (e *Engine) hardStop() {
	e.hardOnce.Do(func() {
		e.hardFlag.Store(true)
		close(e.hard)
		e.tr.close()
	})
}

func (e *Engine) hardStopped() bool { return e.hardFlag.Load() }

func (e *Engine) isEnding() bool {
	select {
	case <-e.ending:
		return true
	default:
		return false
	}
}

// sleep pauses a VU; false when the run started ending meanwhile.
func (e *Engine) sleep(d time.Duration) bool {
	if e.isEnding() {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-e.ending:
		return false
	}
}

// feederExhausted ends the shard's load: a sequential feeder has no records left.
func (e *Engine) feederExhausted(f *feed) {
	select {
	case <-e.ending:
		return // stopping anyway: a claim given up on is not the reason
	default:
	}
	e.mu.Lock()
	if e.endReason == "" {
		e.endReason = fmt.Sprintf("feeder %s exhausted", f.plan.Name)
		if f.claimed != nil {
			e.endReason = f.claimed.reason()
		}
	}
	e.mu.Unlock()
	e.endOnce.Do(func() { close(e.ending) })
}

// flushLoop cuts a snapshot at every interval boundary after Epoch, and a
// last one when the run is over.
func (e *Engine) flushLoop(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	last := time.Now()
	for {
		// The boundary after the last cut, even when it is past (a timer
		// that fired late): every snapshot stays within one interval.
		k := math.Floor(float64(last.Sub(e.epoch))/float64(e.interval)) + 1
		next := e.epoch.Add(time.Duration(k * float64(e.interval)))
		t := time.NewTimer(time.Until(next))
		select {
		case <-t.C:
			e.emit(last, next)
			last = next
		case <-stop:
			t.Stop()
			now := time.Now()
			e.emit(last, now)
			return
		}
	}
}

func (e *Engine) emit(start, end time.Time) {
	off := end.Sub(e.epoch)
	e.lastOffset.Store(int64(off))
	snap := e.rec.Flush(start, end)
	snap.RunID, snap.Worker = e.cfg.RunID, e.cfg.Worker
	snap.Shard, snap.Attempt = uint32(e.cfg.Shard), uint32(e.cfg.Attempt) // #nosec G115 -- New checked 0 <= Shard < Shards <= MaxInt32 and 0 <= Attempt <= MaxInt32
	snap.Seq = e.seq.Add(1)
	snap.ActiveVUs = uint32(min(max(0, e.active.Load()), math.MaxUint32))
	snap.TargetVUs = uint32(min(max(0, e.target.Load()), math.MaxUint32))
	if e.cfg.Sink != nil {
		e.cfg.Sink(snap)
	}
}
