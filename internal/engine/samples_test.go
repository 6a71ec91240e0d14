package engine

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/barrage/barrage/internal/hist"
	"github.com/barrage/barrage/internal/scenario"
)

const theSecret = "s3cr3t-value-42"

func TestSamplesOfFailuresAreRedactedAndBounded(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closedAddr := ln.Addr().String()
	ln.Close()
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		// A careless target echoes the credential back.
		w.Header().Set("Set-Cookie", "session=abc")
		w.Header().Set("X-Request-Token", "tok")
		w.Header().Set("X-Echo", "got "+r.Header.Get("Authorization"))
		switch r.URL.Path {
		case "/fail":
			w.WriteHeader(503)
			w.Write([]byte("upstream down; auth was " + r.Header.Get("Authorization") + strings.Repeat(".", 2000)))
		case "/missing":
			w.WriteHeader(404)
			w.Write([]byte("no such thing"))
		default:
			w.Write([]byte("ok"))
		}
	})
	p := plan(t, `name: samples
virtual_users: 2
duration_seconds: 0.4
http: {timeout: 1s}
steps:
  - {name: fail, url_template: /fail, headers: {Authorization: "Bearer {{ secret.API }}"}}
  - {name: ok, url_template: /ok}
  - {name: missing, url_template: /missing, checks: [{status: 200}]}
  - {name: refused, url_template: 'http://`+closedAddr+`/'}
`)
	var mu sync.Mutex
	var got []Sample
	c := &collector{}
	e, err := New(Config{Plan: p, BaseURL: srv.URL, Sink: c.sink, Secrets: map[string]string{"API": theSecret},
		Sample: func(s Sample) { mu.Lock(); got = append(got, s); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	got = append(got, e.PartialSamples()...)
	per := map[[2]int]int{}
	for _, s := range got {
		per[[2]int{s.Step, int(s.Class)}]++
		text := s.Body + s.Error
		for _, h := range s.Header {
			text += h.Name + ": " + h.Value + "\n"
		}
		if strings.Contains(text, theSecret) || strings.Contains(text, "abc") || strings.Contains(text, "tok\n") {
			t.Errorf("a sample shows a secret: %+v", s)
		}
		switch s.Step {
		case 0:
			if s.Class != hist.ClassHTTP5xx || s.Status != 503 {
				t.Errorf("step fail: %+v", s)
			}
			// The first 1 KiB of the body, the secret replaced by the marker.
			if !s.Partial && (!s.Truncated || len(s.Body) != SampleBody-len(theSecret)+len(scenario.Redacted) || !strings.Contains(s.Body, "auth was Bearer "+scenario.Redacted) ||
				!strings.Contains(text, "X-Echo: got Bearer "+scenario.Redacted) || !strings.Contains(text, "Set-Cookie: "+scenario.Redacted)) {
				t.Errorf("step fail's sample: truncated %v, %d bytes, %q", s.Truncated, len(s.Body), text[:min(200, len(text))])
			}
		case 1:
			t.Errorf("a successful step was sampled: %+v", s)
		case 2:
			if s.Class != hist.ClassHTTP4xx || s.Partial || s.Body != "no such thing" || s.Truncated {
				t.Errorf("step missing (its check captures the body): %+v", s)
			}
		case 3:
			if s.Class != hist.ClassRefused || s.Status != 0 || !strings.Contains(s.Error, "refused") {
				t.Errorf("step refused: %+v", s)
			}
		}
	}
	for _, key := range [][2]int{{0, int(hist.ClassHTTP5xx)}, {2, int(hist.ClassHTTP4xx)}, {3, int(hist.ClassRefused)}} {
		if n := per[key]; n != SamplesPerClass {
			t.Errorf("step %d class %v: %d samples, want %d", key[0], hist.ErrorClass(key[1]), n, SamplesPerClass)
		}
	}
}

var traceparent = regexp.MustCompile(`^00-([0-9a-f]{32})-([0-9a-f]{16})-01$`)

func TestTraceparentAndSlowestTraces(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]bool{} // trace-span pairs the target saw
	traces := map[string]int{}
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		tp := r.Header.Get("traceparent")
		if r.URL.Path == "/plain" {
			if tp != "" {
				t.Errorf("an untraced step sent traceparent %q", tp)
			}
			return
		}
		m := traceparent.FindStringSubmatch(tp)
		if m == nil {
			t.Errorf("traceparent %q", tp)
			return
		}
		mu.Lock()
		dup := seen[m[1]+m[2]]
		seen[m[1]+m[2]] = true
		traces[m[1]]++
		mu.Unlock()
		if dup {
			t.Errorf("span %s sent twice", m[2])
		}
		if r.URL.Path == "/slow" {
			time.Sleep(time.Duration(len(seen)%7) * time.Millisecond)
		}
	})
	p := plan(t, `name: trace
virtual_users: 2
duration_seconds: 0.4
trace: true
steps:
  - {name: slow, url_template: /slow}
  - {name: fast, url_template: /fast}
  - {name: plain, url_template: /plain, trace: false}
`)
	e, err := New(Config{Plan: p, BaseURL: srv.URL, RunID: "run-1", Shard: 3, Shards: 4, Share: []float64{0, 0, 0, 1}, Sink: func(*hist.Snapshot) {}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("run-1"))
	prefix := hex.EncodeToString(sum[:6]) + "0003"
	mu.Lock()
	defer mu.Unlock()
	for id, n := range traces {
		if !strings.HasPrefix(id, prefix) || n != 2 {
			t.Errorf("trace %s: %d requests (want the iteration's 2), prefix want %s", id, n, prefix)
		}
	}
	slow := e.SlowTraces()
	if len(slow) != 3 || len(slow[0]) != SlowTracesPerStep || len(slow[1]) != SlowTracesPerStep || len(slow[2]) != 0 {
		t.Fatalf("slow traces per step: %d, %d, %d", len(slow[0]), len(slow[1]), len(slow[2]))
	}
	for i, tr := range slow[0] {
		id, span := hex.EncodeToString(tr.TraceID[:]), hex.EncodeToString(tr.SpanID[:])
		if !seen[id+span] || tr.Status != 200 {
			t.Errorf("slowest %d: %s-%s (status %d) never reached the target", i, id, span, tr.Status)
		}
		if i > 0 && tr.Latency > slow[0][i-1].Latency {
			t.Errorf("not slowest first: %v after %v", tr.Latency, slow[0][i-1].Latency)
		}
	}
	if len(traces) == 0 {
		t.Fatal("the target saw no traced request")
	}
	vu, iter := int(binary.BigEndian.Uint32(slow[0][0].TraceID[8:12])), uint64(binary.BigEndian.Uint32(slow[0][0].TraceID[12:16]))
	if TraceID("run-1", 3, vu, iter) != slow[0][0].TraceID {
		t.Errorf("trace ID %x is not derived from run, shard, VU and iteration", slow[0][0].TraceID)
	}
}
