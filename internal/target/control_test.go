package target

import (
	"strings"
	"testing"
	"time"
)

func TestControlEndpoints(t *testing.T) {
	s, ts := startTarget(t, Config{Seed: 5})
	for range 3 {
		call(t, ts.Client(), "GET", ts.URL+"/", "", nil)
	}
	call(t, ts.Client(), "GET", ts.URL+"/status/503", "", nil)
	tests := []struct {
		name         string
		method       string
		path         string
		body         string
		wantCode     int
		wantContains []string
	}{
		{name: "health", method: "GET", path: "/_/health", wantCode: 200, wantContains: []string{`"status":"ok"`}},
		{name: "health HEAD", method: "HEAD", path: "/_/health", wantCode: 200},
		{name: "stats", method: "GET", path: "/_/stats", wantCode: 200,
			wantContains: []string{`"served":4`, `"by_status":{"200":3,"503":1}`, `"started_at":`, `"freeze":null`, `"seed":5`}},
		{name: "config", method: "GET", path: "/_/config", wantCode: 200, wantContains: []string{`"latency":"none"`, `"error_rate":0`}},
		{name: "stats refuses POST", method: "POST", path: "/_/stats", wantCode: 405, wantContains: []string{"POST not allowed", "use GET"}},
		{name: "reset refuses GET", method: "GET", path: "/_/reset", wantCode: 405, wantContains: []string{"use POST"}},
		{name: "unknown control path", method: "GET", path: "/_/nope", wantCode: 404, wantContains: []string{"unknown control endpoint"}},
		{name: "config unknown field", method: "POST", path: "/_/config", body: `{"error-rate":1}`, wantCode: 400, wantContains: []string{"unknown field"}},
		{name: "config bad JSON", method: "POST", path: "/_/config", body: `{`, wantCode: 400, wantContains: []string{"must be JSON"}},
		{name: "config bad latency", method: "POST", path: "/_/config", body: `{"latency":"fixed:soon"}`, wantCode: 400, wantContains: []string{"parse latency"}},
		{name: "config bad error rate", method: "POST", path: "/_/config", body: `{"error_rate":1.5}`, wantCode: 400, wantContains: []string{"error rate 1.5 is outside 0..1"}},
		{name: "config freeze without period", method: "POST", path: "/_/config", body: `{"freeze":"1s"}`, wantCode: 400, wantContains: []string{"period must be longer"}},
		{name: "config bad duration", method: "POST", path: "/_/config", body: `{"freeze":"1s","freeze_every":"often"}`, wantCode: 400, wantContains: []string{"freeze_every"}},
		// A patch with one bad field changes none of the good ones.
		{name: "config partly bad", method: "POST", path: "/_/config", body: `{"error_rate":0.5,"latency":"bogus:1"}`, wantCode: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := call(t, ts.Client(), tt.method, ts.URL+tt.path, tt.body, nil)
			if got.code != tt.wantCode {
				t.Fatalf("%s %s = %d %q, want %d", tt.method, tt.path, got.code, got.body, tt.wantCode)
			}
			for _, want := range tt.wantContains {
				if !strings.Contains(string(got.body), want) {
					t.Errorf("body %q does not contain %q", got.body, want)
				}
			}
		})
	}
	if got := s.Served(); got != 4 {
		t.Errorf("Served() = %d after control calls, want the 4 load requests only", got)
	}
	if got := s.Config(); got != (Config{Seed: 5, MaxTokens: DefaultMaxTokens}) {
		t.Errorf("rejected patches changed the config to %+v", got)
	}
}

func TestConfigEndpointChangesBehaviour(t *testing.T) {
	s, ts := startTarget(t, Config{})
	got := call(t, ts.Client(), "POST", ts.URL+"/_/config",
		`{"error_rate":1,"latency":"fixed:30ms","freeze":"100ms","freeze_every":"10s"}`, nil)
	if got.code != 200 {
		t.Fatalf("POST /_/config = %d %q", got.code, got.body)
	}
	want := Config{MaxTokens: DefaultMaxTokens, ErrorRate: 1, Latency: Latency{Dist: DistFixed, Fixed: 30 * time.Millisecond},
		FreezeFor: 100 * time.Millisecond, FreezeEvery: 10 * time.Second}
	if cfg := s.Config(); cfg != want {
		t.Fatalf("config = %+v, want %+v", cfg, want)
	}
	shown := decode[configJSON](t, got.body)
	if shown.Latency != "fixed:30ms" || shown.Freeze != "100ms" || shown.FreezeEvery != "10s" {
		t.Errorf("POST /_/config answered %+v", shown)
	}
	start := time.Now()
	if got := call(t, ts.Client(), "GET", ts.URL+"/", "", nil); got.code != 500 {
		t.Errorf("GET / after error_rate 1 = %d, want 500", got.code)
	}
	if took := time.Since(start); took < 30*time.Millisecond {
		t.Errorf("GET / took %v, want the new 30ms latency", took)
	}
	// Absent fields keep their value; "0s" turns the freeze off.
	if got := call(t, ts.Client(), "POST", ts.URL+"/_/config", `{"error_rate":0,"freeze":"0s"}`, nil); got.code != 200 {
		t.Fatalf("second POST /_/config = %d %q", got.code, got.body)
	}
	want.ErrorRate, want.FreezeFor = 0, 0
	if cfg := s.Config(); cfg != want {
		t.Errorf("config = %+v, want %+v", cfg, want)
	}
}

func TestResetEndpoint(t *testing.T) {
	s, ts := startTarget(t, Config{})
	for range 5 {
		call(t, ts.Client(), "GET", ts.URL+"/items", "", nil)
	}
	before := s.Stats().CountingSince
	got := call(t, ts.Client(), "POST", ts.URL+"/_/reset", "", nil)
	if got.code != 200 || !strings.Contains(string(got.body), `"served":0`) {
		t.Fatalf("POST /_/reset = %d %q, want 200 with served 0", got.code, got.body)
	}
	if s.Served() != 0 {
		t.Errorf("Served() after reset = %d", s.Served())
	}
	if !s.Stats().CountingSince.After(before) {
		t.Errorf("CountingSince did not move on reset")
	}
	call(t, ts.Client(), "GET", ts.URL+"/", "", nil)
	if s.Served() != 1 {
		t.Errorf("Served() = %d after one request following a reset, want 1", s.Served())
	}
}
