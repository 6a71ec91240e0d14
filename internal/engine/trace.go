package engine

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/barrage/barrage/internal/h1"
	"github.com/barrage/barrage/internal/hist"
)

// SlowTracesPerStep is how many of its slowest traced requests a shard
// keeps per step.
const SlowTracesPerStep = 5

// TraceID is the W3C trace ID of a VU's iteration: the first 6 bytes of
// SHA-256(run ID), then the shard (2 bytes, big-endian, modulo 65536), the
// VU's number in the shard (4 bytes) and the VU's iteration (4 bytes,
// counted from 1, modulo 2³²). Every request of one iteration is in the
// same trace; each has a span (parent) ID of its own.
func TraceID(runID string, shard, vu int, iteration uint64) [16]byte {
	var id [16]byte
	sum := sha256.Sum256([]byte(runID))
	copy(id[:6], sum[:6])
	binary.BigEndian.PutUint16(id[6:8], uint16(shard&0xffff))           // #nosec G115 -- masked
	binary.BigEndian.PutUint32(id[8:12], uint32(vu&0xffffffff))         // #nosec G115 -- masked
	binary.BigEndian.PutUint32(id[12:16], uint32(iteration&0xffffffff)) // #nosec G115 -- masked
	if id == ([16]byte{}) {
		id[15] = 1 // all zeros is not a valid trace ID
	}
	return id
}

// traceState is a VU's trace context.
type traceState struct {
	iter  uint64
	valid bool
	id    [16]byte
	span  [8]byte
	on    bool // the request being made carries a traceparent
}

// addTrace adds the traceparent header of a traced step's request:
// version 00, the iteration's trace ID, a fresh parent ID, sampled.
func (v *vu) addTrace(st *stepRT) {
	v.trc.on = false
	if !st.Trace {
		return
	}
	t := &v.trc
	if !t.valid || t.iter != v.env.Iteration {
		t.id = TraceID(v.e.cfg.RunID, v.e.cfg.Shard, v.id, v.env.Iteration)
		t.iter, t.valid = v.env.Iteration, true
	}
	for {
		binary.BigEndian.PutUint64(t.span[:], v.rand.Uint64())
		if t.span != ([8]byte{}) {
			break
		}
	}
	var b [55]byte
	copy(b[:], "00-")
	hex.Encode(b[3:35], t.id[:])
	b[35] = '-'
	hex.Encode(b[36:52], t.span[:])
	copy(b[52:], "-01")
	v.headers = append(v.headers, h1.Header{Name: "traceparent", Value: string(b[:])})
	t.on = true
}

// TracedRequest is one request that carried a traceparent.
type TracedRequest struct {
	TraceID [16]byte
	SpanID  [8]byte
	Latency time.Duration
	Status  int // 0: no response
	Class   hist.ErrorClass
}

// slowest keeps a step's SlowTracesPerStep slowest traced requests.
type slowest struct {
	// floor is the fastest kept latency once the list is full: most
	// requests are faster and go without taking the lock.
	floor atomic.Int64
	mu    sync.Mutex
	items []TracedRequest
}

func (s *slowest) offer(r TracedRequest) {
	if f := s.floor.Load(); f > 0 && int64(r.Latency) <= f {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.items) < SlowTracesPerStep {
		s.items = append(s.items, r)
	} else {
		low := 0
		for i := range s.items {
			if s.items[i].Latency < s.items[low].Latency {
				low = i
			}
		}
		if r.Latency <= s.items[low].Latency {
			return
		}
		s.items[low] = r
	}
	if len(s.items) == SlowTracesPerStep {
		low := s.items[0].Latency
		for _, it := range s.items[1:] {
			low = min(low, it.Latency)
		}
		s.floor.Store(int64(low))
	}
}

func (s *slowest) list() []TracedRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := append([]TracedRequest(nil), s.items...)
	sort.Slice(out, func(i, j int) bool { return out[i].Latency > out[j].Latency })
	return out
}

// SlowTraces returns, per step (in plan order), the shard's slowest traced
// requests, slowest first; a step without trace has none.
func (e *Engine) SlowTraces() [][]TracedRequest {
	out := make([][]TracedRequest, len(e.obs.slow))
	for i := range e.obs.slow {
		out[i] = e.obs.slow[i].list()
	}
	return out
}
