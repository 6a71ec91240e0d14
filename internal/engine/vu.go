package engine

import (
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"

	"github.com/barrage/barrage/internal/h1"
	"github.com/barrage/barrage/internal/hist"
	"github.com/barrage/barrage/internal/scenario"
)

// stepRT is a plan step with what can be prepared once per shard.
type stepRT struct {
	*scenario.PlanStep
	index int
	// ep is the endpoint of relative URLs (the run's base URL), or of a static
	// absolute URL; static is the request-target when the URL never changes.
	ep       endpoint
	absolute bool
	static   string
	isStatic bool
	body     *stepBody // nil: no body
}

// vu is one virtual user: its variables, cookies and buffers. A vu is used by
// one goroutine at a time.
type vu struct {
	e         *Engine
	id        int
	flow      *flowRT // the flow it runs
	env       scenario.Env
	rand      *rand.Rand
	jar       *cookiejar.Jar // created at the first Set-Cookie
	req       request
	resp      h1.Response
	view      scenario.Response
	headers   []h1.Header
	urlBuf    []byte
	bodyBuf   []byte
	gzBuf     []byte
	trc       traceState
	vuRecords bool // per-VU feeder records taken
	// takesOver: with per-VU iterations, a VU started after the shard's
	// own, which does what the ledger still has (iterations.go).
	takesOver bool
}

func newVU(e *Engine, id int, flow *flowRT) *vu {
	seed := e.seed + uint64(id)*0x9e3779b97f4a7c15        // #nosec G115 -- VU ids count from 0
	r := rand.New(rand.NewPCG(seed, uint64(e.cfg.Shard))) // #nosec G115 G404 -- Shard >= 0 (New); think times and template values, no secret
	v := &vu{e: e, id: id, rand: r, flow: flow}
	v.env = scenario.Env{Vars: append([]string(nil), e.initialVars...), VU: id, Shard: e.cfg.Shard, Rand: r}
	return v
}

// setFlow gives a pooled VU (open model) the flow of its next arrival. A
// VU that changes flows leaves its cookies behind: they were another
// flow's user's.
func (v *vu) setFlow(f *flowRT) {
	if v.flow != f {
		v.flow, v.jar = f, nil
	}
}

// iterate runs the steps once. intended is when the iteration was due (open
// model; zero in the closed model): the first request's latency is measured
// from it, so that a late start counts against the target (coordinated
// omission). It returns false when the VU must stop: the run is over or a
// sequential feeder ran dry.
func (v *vu) iterate(intended time.Time) bool {
	if !v.e.startIteration(v) || !v.takeRecords() {
		return false
	}
	v.env.Iteration++
	first := true
	for _, st := range v.flow.steps {
		if v.e.abortFlag.Load() {
			return false
		}
		if st.Skipped(v.env.Vars) {
			continue
		}
		start := intended
		if !first || start.IsZero() {
			start = time.Now()
		}
		first = false
		v.doStepRetrying(st, start)
		if d := st.Think.Sample(v.rand); d > 0 && !v.e.sleep(d) {
			// The run is ending: the rest of the iteration goes without
			// pauses, so that it finishes within the graceful stop.
			continue
		}
	}
	if v.e.abortFlag.Load() || v.e.hardStopped() {
		// Aborted during its last step, or cut off when the graceful stop
		// ran out: not done.
		return false
	}
	v.e.rec.AddIteration()
	return true
}

func (v *vu) takeRecords() bool {
	for _, f := range v.e.feeds {
		if f.plan.Per == scenario.PerVU && v.vuRecords {
			continue
		}
		rec, ok := f.take(v.rand)
		if !ok {
			v.e.feederExhausted(f)
			return false
		}
		f.fill(v.env.Vars, rec)
	}
	v.vuRecords = true
	return true
}

// doStepRetrying does a step, and again after a failure as its retries
// allow, the back-off doubling each time. Every attempt is recorded; a run
// that is ending stops the retries.
func (v *vu) doStepRetrying(st *stepRT, start time.Time) {
	ok := v.doStep(st, start)
	for a := 0; !ok && a < st.Retries; a++ {
		if v.e.abortFlag.Load() || !v.e.sleep(st.RetryBackoff<<a) {
			return
		}
		ok = v.doStep(st, time.Now())
	}
}

// doStep sends one step's request, follows redirects, runs checks and
// extractors, and records every exchange. It reports whether the final
// result was a success (class none).
func (v *vu) doStep(st *stepRT, start time.Time) bool {
	if !v.prepare(st) {
		v.e.rec.Record(st.index, hist.Result{Latency: time.Since(start), Class: hist.ClassOther})
		return false
	}
	for hop := 0; ; hop++ {
		err := v.e.tr.do(&v.req, &v.resp)
		end := time.Now()
		res := hist.Result{Latency: end.Sub(start), Status: v.resp.Status, BytesSent: v.resp.BytesSent, BytesReceived: v.resp.BytesReceived}
		if err != nil {
			if v.e.hardStopped() {
				return false // cut off by an abort: in flight, not a result
			}
			res.Status, res.Class = 0, classify(err)
			v.e.rec.Record(st.index, res)
			v.observe(st, res, err)
			if res.Class == hist.ClassBlocked {
				v.e.noteBlocked(v.req.Addr, err)
			}
			return false
		}
		v.storeCookies()
		if hop < v.e.plan.MaxRedirects && v.followRedirect(v.e.plan.StepTimeout(st.PlanStep)) {
			res.Class = hist.ClassNone
			v.e.rec.Record(st.index, res)
			start = time.Now()
			continue
		}
		return v.finish(st, res, end.Sub(start))
	}
}

// finish runs checks and extractors on the final response and records it.
func (v *vu) finish(st *stepRT, res hist.Result, latency time.Duration) bool {
	if len(st.Checks) > 0 || len(st.Extract) > 0 {
		v.view.Reset()
		v.view.Status, v.view.Body, v.view.Latency = v.resp.Status, v.resp.Body, latency
		v.view.Header = v.resp.Get
		for _, c := range st.Checks {
			if c.Eval(&v.view) {
				res.ChecksPassed++
			} else {
				res.ChecksFailed++
			}
		}
		for _, x := range st.Extract {
			val, ok := x.Extract(&v.view)
			v.env.Vars[x.Slot] = val
			if !ok && x.Default == nil {
				res.ChecksFailed++
			}
		}
	}
	res.Class = statusClass(res.Status)
	if res.Class == hist.ClassNone && res.ChecksFailed > 0 {
		res.Class = hist.ClassCheckFailed
	}
	v.e.rec.Record(st.index, res)
	v.observe(st, res, nil)
	return res.Class == hist.ClassNone
}

// prepare renders the step's request into v.req.
func (v *vu) prepare(st *stepRT) bool {
	ep, target := st.ep, st.static
	if !st.isStatic {
		v.urlBuf = st.URL.Append(v.urlBuf[:0], &v.env)
		if st.absolute {
			var err error
			if ep, target, err = parseEndpoint(string(v.urlBuf)); err != nil {
				return false
			}
		} else {
			target = ep.prefix + string(v.urlBuf)
		}
	}
	r := &v.req
	r.https, r.Addr, r.Host, r.Target, r.Method = ep.https, ep.addr, ep.host, target, st.Method
	v.headers = v.headers[:0]
	for _, h := range st.Headers {
		val, ok := h.Value.Static()
		if !ok {
			val = h.Value.Render(&v.env)
		}
		v.headers = append(v.headers, h1.Header{Name: h.Name, Value: val})
	}
	r.Body = v.renderBody(st) // with its Content-Type and Content-Encoding
	v.addTrace(st)
	v.addCookies()
	r.Header = v.headers
	r.CaptureBody = st.NeedBody
	r.CaptureHeaders = st.NeedHeaders
	r.CaptureOnly = v.e.wantHeaders
	v.armCapture(st)
	r.Deadline = time.Now().Add(v.e.plan.StepTimeout(st.PlanStep))
	return true
}

func (v *vu) currentURL() *url.URL {
	path, query, _ := strings.Cut(v.req.Target, "?")
	scheme := "http"
	if v.req.https {
		scheme = "https"
	}
	return &url.URL{Scheme: scheme, Host: v.req.Host, Path: path, RawQuery: query}
}

func (v *vu) addCookies() {
	if v.jar == nil {
		return
	}
	cookies := v.jar.Cookies(v.currentURL())
	if len(cookies) == 0 {
		return
	}
	parts := make([]string, len(cookies))
	for i, c := range cookies {
		parts[i] = c.Name + "=" + c.Value
	}
	v.headers = append(v.headers, h1.Header{Name: "Cookie", Value: strings.Join(parts, "; ")})
}

func (v *vu) storeCookies() {
	if v.e.plan.HTTP.NoCookies {
		return
	}
	var cookies []*http.Cookie
	for i := range v.resp.Header {
		h := &v.resp.Header[i]
		if !strings.EqualFold(h.Name, "Set-Cookie") {
			continue
		}
		if c, err := http.ParseSetCookie(h.Value); err == nil {
			cookies = append(cookies, c)
		}
	}
	if len(cookies) == 0 {
		return
	}
	if v.jar == nil {
		v.jar, _ = cookiejar.New(nil) // never fails without options
	}
	v.jar.SetCookies(v.currentURL(), cookies)
}

// followRedirect turns v.req into the request for a 3xx response's Location.
func (v *vu) followRedirect(timeout time.Duration) bool {
	switch v.resp.Status {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
	default:
		return false
	}
	loc := v.resp.Get("Location")
	if loc == "" {
		return false
	}
	next, err := v.currentURL().Parse(loc)
	if err != nil || (next.Scheme != "http" && next.Scheme != "https") {
		return false
	}
	ep, target, err := parseEndpoint(next.String())
	if err != nil {
		return false
	}
	r := &v.req
	if v.resp.Status <= http.StatusSeeOther && r.Method != "GET" && r.Method != "HEAD" {
		r.Method, r.Body = "GET", nil
	}
	// To another origin, credentials stay behind (as curl and net/http do):
	// Authorization, Proxy-Authorization and any header carrying a secret.
	crossOrigin := ep.addr != r.Addr || ep.https != r.https
	r.https, r.Addr, r.Host, r.Target = ep.https, ep.addr, ep.host, target
	v.headers = v.headers[:0]
	for _, h := range r.Header {
		if strings.EqualFold(h.Name, "Cookie") || crossOrigin && v.e.credential(h) {
			continue
		}
		v.headers = append(v.headers, h)
	}
	v.addCookies()
	r.Header = v.headers
	r.Deadline = time.Now().Add(timeout)
	return true
}
