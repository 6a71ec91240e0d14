package engine

import (
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/barrage/barrage/internal/h1"
	"github.com/barrage/barrage/internal/hist"
	"github.com/barrage/barrage/internal/scenario"
)

// Limits of response samples.
const (
	// SamplesPerClass is how many failed responses a shard samples per step
	// and error class; MaxSamples bounds a shard's samples in all.
	SamplesPerClass = 3
	MaxSamples      = 64
	// SampleBody is how much of a sampled response's body is kept.
	SampleBody       = 1024
	maxSampleHeaders = 32
	maxSampleName    = 64
	maxSampleValue   = 256
	maxSampleError   = 512
)

// Sample is a failed response (or request), with secrets redacted: the
// values of Config.Secrets wherever they appear, and whole values of
// credential headers (Authorization, Proxy-Authorization, Cookie,
// Set-Cookie, *-Api-Key, and names holding "token" or "secret").
type Sample struct {
	Step      int
	Class     hist.ErrorClass
	Status    int    // 0: no response
	Error     string // the transport error, when there was no response
	Header    []h1.Header
	Body      string // the first SampleBody bytes, as text
	Truncated bool   // the body was longer
	// Partial: the failure came when its step was not capturing
	// responses, so its headers and body are missing (a step starts
	// capturing after its first failure; see observe).
	Partial bool
}

// observer keeps what a shard reports besides its snapshots: response
// samples and the slowest traced requests.
type observer struct {
	fn        func(Sample)
	steps     []stepSamples
	slow      []slowest
	count     atomic.Int64
	secrets   []string // longest first
	maxSecret int
}

// stepSamples is one step's sampling state.
type stepSamples struct {
	// armed: the step's requests capture headers and the body's start,
	// because failures are wanted that were seen uncaptured. Capturing
	// costs (header strings are allocated), so it is on only then.
	armed   atomic.Bool
	mu      sync.Mutex
	taken   [hist.NumClasses]int
	want    [hist.NumClasses]int
	partial [hist.NumClasses]*Sample
}

func newObserver(cfg Config, steps int) *observer {
	o := &observer{fn: cfg.Sample, steps: make([]stepSamples, steps), slow: make([]slowest, steps)}
	for _, s := range cfg.Secrets {
		if s != "" {
			o.secrets = append(o.secrets, s)
			o.maxSecret = max(o.maxSecret, len(s))
		}
	}
	sort.Slice(o.secrets, func(i, j int) bool { return len(o.secrets[i]) > len(o.secrets[j]) })
	return o
}

// armCapture makes the request capture what a sample shows when its step
// wants samples.
func (v *vu) armCapture(st *stepRT) {
	r := &v.req
	r.CaptureMax = 0
	if !v.e.obs.steps[st.index].armed.Load() {
		return
	}
	if !r.CaptureBody {
		r.CaptureBody, r.CaptureMax = true, SampleBody+v.e.obs.maxSecret
	}
	r.CaptureHeaders = true
}

// observe notes a step's final result: a traced request may be one of the
// slowest; a failure may be sampled.
func (v *vu) observe(st *stepRT, res hist.Result, err error) {
	o := v.e.obs
	if v.trc.on {
		o.slow[st.index].offer(TracedRequest{TraceID: v.trc.id, SpanID: v.trc.span, Latency: res.Latency, Status: res.Status, Class: res.Class})
	}
	if res.Class == hist.ClassNone || o.fn == nil || !res.Class.Valid() {
		return
	}
	ss := &o.steps[st.index]
	c := res.Class
	captured := err != nil || (v.req.CaptureHeaders && v.req.CaptureBody)
	ss.mu.Lock()
	if ss.taken[c] >= SamplesPerClass || o.count.Load() >= MaxSamples {
		ss.armed.Store(false)
		ss.mu.Unlock()
		return
	}
	if !captured {
		if ss.partial[c] == nil {
			ss.partial[c] = &Sample{Step: st.index, Class: c, Status: res.Status, Partial: true}
		}
		ss.want[c] = min(ss.want[c]+1, SamplesPerClass-ss.taken[c])
		ss.armed.Store(true)
		ss.mu.Unlock()
		return
	}
	ss.taken[c]++
	ss.partial[c] = nil
	ss.want[c] = max(0, ss.want[c]-1)
	wanted := false
	for _, w := range ss.want {
		wanted = wanted || w > 0
	}
	ss.armed.Store(wanted)
	ss.mu.Unlock()
	if o.count.Add(1) > MaxSamples {
		return
	}
	o.fn(o.build(v, st.index, res, err))
}

func (o *observer) build(v *vu, step int, res hist.Result, err error) Sample {
	s := Sample{Step: step, Class: res.Class, Status: res.Status}
	if err != nil {
		s.Error, _ = o.redact([]byte(err.Error()), maxSampleError)
		return s
	}
	for i := range v.resp.Header {
		if len(s.Header) == maxSampleHeaders {
			break
		}
		h := v.resp.Header[i]
		name, _ := o.redact([]byte(h.Name), maxSampleName)
		value := scenario.Redacted
		if !credentialHeader(h.Name) {
			value, _ = o.redact([]byte(h.Value), maxSampleValue)
		}
		s.Header = append(s.Header, h1.Header{Name: name, Value: value})
	}
	s.Body, s.Truncated = o.redact(v.resp.Body, SampleBody)
	return s
}

// PartialSamples returns, once Run is over, a sample of each failure
// whose step never captured one like it: status and class only.
func (e *Engine) PartialSamples() []Sample {
	o := e.obs
	var out []Sample
	for i := range o.steps {
		ss := &o.steps[i]
		ss.mu.Lock()
		for c, p := range ss.partial {
			if p != nil && ss.taken[c] == 0 && o.count.Add(1) <= MaxSamples {
				out = append(out, *p)
			}
		}
		ss.mu.Unlock()
	}
	return out
}

// redact returns the first limit bytes of raw as text with every secret
// replaced by scenario.Redacted, and whether anything was cut. A secret
// that starts within the limit is replaced whole (raw holds up to
// limit+maxSecret bytes for that); nothing of raw past the limit is shown.
func (o *observer) redact(raw []byte, limit int) (string, bool) {
	var b strings.Builder
	i := 0
	for i < len(raw) && i < limit {
		if s := o.secretAt(raw[i:]); s > 0 {
			b.WriteString(scenario.Redacted)
			i += s
			continue
		}
		b.WriteByte(raw[i])
		i++
	}
	cut := i < len(raw)
	out := strings.ToValidUTF8(b.String(), "\uFFFD")
	if len(out) > limit {
		cut = true
		out = out[:limit]
		for len(out) > 0 && !utf8.ValidString(out) {
			out = out[:len(out)-1]
		}
	}
	return out, cut
}

// secretAt is the length of the secret p starts with, or 0.
func (o *observer) secretAt(p []byte) int {
	for _, s := range o.secrets {
		if len(p) >= len(s) && string(p[:len(s)]) == s {
			return len(s)
		}
	}
	return 0
}

// credentialHeader: a response header whose value a sample never shows.
func credentialHeader(name string) bool {
	n := strings.ToLower(name)
	switch n {
	case "authorization", "proxy-authorization", "cookie", "set-cookie":
		return true
	}
	return strings.HasSuffix(n, "-api-key") || strings.Contains(n, "token") || strings.Contains(n, "secret")
}
