package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/barrage/barrage/api/client"
	"github.com/barrage/barrage/workflows"
)

// A zombie shard is one that goes on loading the target after nobody can
// stop it any more. These tests cut a worker off from both the server and
// Temporal in the middle of a run and watch the target: the shard must not
// stop merely because it lost the server, and it must stop on its own — at
// its profile's end plus the graceful stop, or sooner once it has lost
// Temporal (the SDK cancels it when a heartbeat fails; watchTemporal stops
// it at the latest a second after workflows.HeartbeatTimeout, when the run
// has handed the shard over).

const (
	zombieGrace = 2 * time.Second // the scenario's graceful_stop
	zombieSlack = 3 * time.Second
	// zombieStep is how long the target holds each request: an iteration
	// (zombieSteps of them) lasts about 3.6 s, longer than the graceful
	// stop, so the hard stop is what ends the iterations in flight.
	zombieStep  = 300 * time.Millisecond
	zombieSteps = 12
	zombieVUs   = 4
)

// cutMode is how a proxy cuts the worker off.
type cutMode int

const (
	// refuse closes the listener and every connection: the worker sees
	// resets, then refused connections.
	refuse cutMode = iota
	// blackhole keeps accepting and reading but never forwards or answers:
	// the worker's calls hang until their own deadlines.
	blackhole
)

func (m cutMode) String() string { return [...]string{"refused", "blackholed"}[m] }

// TestNoZombieLoad runs one shard on one worker whose connections to the
// server's API and to Temporal's frontend pass through proxies, cuts both
// after 8 s of load and counts the requests the target receives.
func TestNoZombieLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: starts a server, Temporal and a worker")
	}
	for _, tc := range []zombieCase{
		{name: "refused, 24s: Temporal's loss stops it", mode: refuse, duration: 24 * time.Second, cutAt: 8 * time.Second},
		{name: "blackholed, 24s: Temporal's loss stops it", mode: blackhole, duration: 24 * time.Second, cutAt: 8 * time.Second},
		{name: "refused, 12s: the profile ends first", mode: refuse, duration: 12 * time.Second, cutAt: 8 * time.Second},
		{name: "blackholed, 12s: the profile ends first", mode: blackhole, duration: 12 * time.Second, cutAt: 8 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) { zombieRun(t, tc) })
	}
}

type zombieCase struct {
	name     string
	mode     cutMode
	duration time.Duration // the profile's
	cutAt    time.Duration // after the run's epoch
}

func zombieRun(t *testing.T, tc zombieCase) {
	tg := newArrivals(t)
	c := startCluster(t, 0)
	api := c.api
	toAPI := newCutProxy(t, strings.TrimPrefix(c.url, "http://"))
	toTemporal := newCutProxy(t, c.temporal)
	w := start(t, "worker z1 (behind the proxies)", "worker", "--server", "http://"+toAPI.addr, "--temporal", toTemporal.addr, "--id", "z1")
	waitFor(t, 30*time.Second, "z1 registered", func() bool { return c.registered(t) >= 1 })
	epoch := startZombieRun(t, api, tg.url(), tc.duration)

	sleepUntil(epoch.Add(tc.cutAt))
	cut := time.Now()
	toAPI.cut(tc.mode)
	toTemporal.cut(tc.mode)
	sleepUntil(epoch.Add(tc.duration + zombieGrace + zombieSlack + time.Second))
	checkQuiet(t, tc, tg, w, epoch, cut)
}

// checkQuiet checks, once the run's profile and graceful stop are over, the
// requests the target got around the cut, and the worker.
func checkQuiet(t *testing.T, tc zombieCase, tg *arrivals, w *proc, epoch, cut time.Time) {
	t.Helper()
	end := epoch.Add(tc.duration)
	// The run declares the shard lost HeartbeatTimeout after its last
	// heartbeat; the worker stops within a second of that (watchTemporal)
	// if the SDK has not cancelled the shard before. (A cancellation
	// during the graceful stop does not shorten it: the engine lets a
	// graceful stop run its course whatever comes meanwhile.)
	quietBy := minTime(end.Add(zombieGrace), cut.Add(workflows.HeartbeatTimeout+time.Second)).Add(zombieSlack)
	// Until the worker gives up on Temporal, or the profile ends, the load
	// must go on: losing the server is no reason to stop.
	gaveUp, ok := heartbeatFailed(w.output(), cut)
	if !ok {
		t.Logf("%s: no failed heartbeat in the worker's log: the load is only required until the cut", tc.mode)
		gaveUp = cut
	}
	holdUntil := minTime(end, gaveUp)
	last := tg.last()
	t.Logf("%s: cut at epoch+%s; requests per 500 ms from the epoch: %s", tc.mode, cut.Sub(epoch).Round(10*time.Millisecond), tg.buckets(epoch, cut))
	t.Logf("%s: last request %s after the cut, %s after the profile's end (%s); a heartbeat failed %s after the cut; load required until epoch+%s, quiet required by epoch+%s",
		tc.mode, last.Sub(cut).Round(10*time.Millisecond), last.Sub(end).Round(10*time.Millisecond), tc.duration,
		gaveUp.Sub(cut).Round(10*time.Millisecond), holdUntil.Sub(epoch).Round(10*time.Millisecond), quietBy.Sub(epoch).Round(10*time.Millisecond))
	if gaps := tg.silent(epoch, epoch.Add(500*time.Millisecond), holdUntil.Add(-500*time.Millisecond)); len(gaps) > 0 {
		t.Errorf("no requests at epoch+%v: the shard stopped before it lost Temporal or its profile ended", gaps)
	}
	if last.Before(holdUntil.Add(-500 * time.Millisecond)) {
		t.Errorf("the last request came at epoch+%s, want the load to go on until epoch+%s", last.Sub(epoch), holdUntil.Sub(epoch))
	}
	if last.After(quietBy) {
		t.Errorf("zombie load: a request at epoch+%s, want none after epoch+%s", last.Sub(epoch), quietBy.Sub(epoch))
	}
	select {
	case <-w.done:
		if code := w.cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("the cut-off worker exited %d:\n%s", code, w.output())
		}
		t.Logf("%s: the worker exited cleanly", tc.mode)
	default:
		t.Logf("%s: the worker is still running", tc.mode)
	}
}

// startZombieRun starts a one-shard run against target and returns its
// epoch, once it has passed.
func startZombieRun(t *testing.T, api *client.Client, target string, duration time.Duration) time.Time {
	t.Helper()
	var steps strings.Builder
	for i := range zombieSteps {
		fmt.Fprintf(&steps, "  - {name: s%d, url_template: /slow}\n", i+1)
	}
	doc := fmt.Sprintf("name: zombie\nvirtual_users: %d\nduration_seconds: %d\ngraceful_stop: %s\nsteps:\n%s",
		zombieVUs, int(duration/time.Second), zombieGrace, steps.String())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ref, err := api.CreateScenario(ctx, scenarioJSON(t, doc))
	if err != nil {
		t.Fatal(err)
	}
	run, err := api.StartRun(ctx, client.RunRequest{ScenarioID: ref.ScenarioID, TargetBaseURL: target, WorkerCount: 1})
	if err != nil {
		t.Fatal(err)
	}
	var epoch time.Time
	waitFor(t, 30*time.Second, "the run's epoch", func() bool {
		r, err := api.GetRun(ctx, run.RunID)
		if err == nil && r.StartedAt != nil {
			epoch = *r.StartedAt
		}
		return !epoch.IsZero()
	})
	return epoch
}

// heartbeatFailed returns when the worker's log first shows the Temporal
// SDK giving up on a heartbeat after since: the SDK then cancels the shard.
// The heartbeat in flight at the cut may have been sent up to
// HeartbeatEvery before it, and the SDK gives each HeartbeatEvery, so this
// can come any time from the cut to HeartbeatTimeout after it.
func heartbeatFailed(log string, since time.Time) (time.Time, bool) {
	for _, line := range strings.Split(log, "\n") {
		stamp, ok := strings.CutPrefix(line, "time=")
		if !ok || !strings.Contains(line, `msg="RecordActivityHeartbeat with error"`) {
			continue
		}
		stamp, _, _ = strings.Cut(stamp, " ")
		if at, err := time.Parse(time.RFC3339Nano, stamp); err == nil && !at.Before(since) {
			return at, true
		}
	}
	return time.Time{}, false
}

func sleepUntil(at time.Time) { time.Sleep(time.Until(at)) }

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// arrivals is a target on 127.0.0.1 that notes when each request arrives;
// /slow answers after zombieStep.
type arrivals struct {
	srv *httptest.Server
	mu  sync.Mutex
	at  []time.Time
}

func newArrivals(t *testing.T) *arrivals {
	t.Helper()
	a := &arrivals{}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.at = append(a.at, time.Now())
		a.mu.Unlock()
		if r.URL.Path == "/slow" {
			select {
			case <-time.After(zombieStep):
			case <-r.Context().Done():
				return
			}
		}
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *arrivals) url() string { return a.srv.URL }

// last is when the latest request arrived.
func (a *arrivals) last() time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	var l time.Time
	for _, at := range a.at {
		if at.After(l) {
			l = at
		}
	}
	return l
}

const bucket = 500 * time.Millisecond

// counts returns the requests per bucket from epoch to the last one.
func (a *arrivals) counts(epoch time.Time) []int {
	a.mu.Lock()
	defer a.mu.Unlock()
	var n []int
	for _, at := range a.at {
		i := int(at.Sub(epoch) / bucket)
		if at.Before(epoch) {
			continue // none is expected: the shard starts at the epoch
		}
		for len(n) <= i {
			n = append(n, 0)
		}
		n[i]++
	}
	return n
}

// buckets shows the counts, with a | where the cut fell.
func (a *arrivals) buckets(epoch, cut time.Time) string {
	var b strings.Builder
	ci := int(cut.Sub(epoch) / bucket)
	for i, n := range a.counts(epoch) {
		if i == ci {
			b.WriteString("| ")
		}
		fmt.Fprintf(&b, "%d ", n)
	}
	return strings.TrimSpace(b.String())
}

// silent lists the buckets wholly within [from, to) that got no request,
// as offsets from the epoch.
func (a *arrivals) silent(epoch time.Time, from, to time.Time) []time.Duration {
	n := a.counts(epoch)
	var gaps []time.Duration
	for i := int((from.Sub(epoch) + bucket - 1) / bucket); epoch.Add(time.Duration(i+1)*bucket).Compare(to) <= 0; i++ {
		if i >= len(n) || n[i] == 0 {
			gaps = append(gaps, time.Duration(i)*bucket)
		}
	}
	return gaps
}

// cutProxy is a TCP proxy that cuts both ways at once, either way
// (cutMode). fault_test.go's proxy only resets, and reopens.
type cutProxy struct {
	addr   string
	to     string
	ln     net.Listener
	mu     sync.Mutex
	holed  bool
	closed bool
	down   map[net.Conn]bool // the worker's side
	up     map[net.Conn]bool // the far side
}

func newCutProxy(t *testing.T, to string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{addr: ln.Addr().String(), to: to, ln: ln, down: map[net.Conn]bool{}, up: map[net.Conn]bool{}}
	t.Cleanup(func() {
		p.cut(refuse)
	})
	go p.serve()
	return p
}

func (p *cutProxy) serve() {
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		holed, closed := p.holed, p.closed
		if !closed {
			p.down[in] = true
		}
		p.mu.Unlock()
		if closed {
			in.Close() // accepted just as the listener closed
			return
		}
		if holed {
			go p.forward(nil, in)
			continue
		}
		out, err := net.DialTimeout("tcp", p.to, 5*time.Second)
		if err != nil {
			p.drop(in)
			continue
		}
		p.mu.Lock()
		if p.closed || p.holed {
			p.mu.Unlock()
			out.Close()
			go p.forward(nil, in) // cut while dialling: refuse closed in already
			continue
		}
		p.up[out] = true
		p.mu.Unlock()
		go p.forward(out, in)
		go p.back(in, out)
	}
}

// forward copies the worker's bytes to out, or swallows them once the
// proxy is a black hole (out nil: it was one when the worker connected).
func (p *cutProxy) forward(out, in net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := in.Read(buf)
		if err != nil {
			p.drop(in, out)
			return
		}
		if out == nil || p.isHoled() {
			continue
		}
		if _, err := out.Write(buf[:n]); err != nil && !p.isHoled() {
			p.drop(in, out)
			return
		}
	}
}

// back copies the far side's answers to the worker; a black hole leaves
// the worker's connection open and silent.
func (p *cutProxy) back(in, out net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := out.Read(buf)
		if err == nil {
			_, err = in.Write(buf[:n])
		}
		if err != nil {
			if p.isHoled() {
				p.drop(out)
			} else {
				p.drop(in, out)
			}
			return
		}
	}
}

func (p *cutProxy) isHoled() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.holed
}

func (p *cutProxy) drop(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		if c != nil {
			c.Close()
			delete(p.down, c)
			delete(p.up, c)
		}
	}
}

// cut cuts the worker off: refuse closes the listener and every
// connection; blackhole closes only the far sides and swallows whatever
// the worker sends, on its old connections and on new ones.
func (p *cutProxy) cut(m cutMode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if m == refuse {
		p.closed = true
		p.ln.Close()
		for c := range p.down {
			c.Close()
		}
		clear(p.down)
	}
	p.holed = p.holed || m == blackhole
	for c := range p.up {
		c.Close()
	}
	clear(p.up)
}
