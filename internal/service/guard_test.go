package service

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/barrage/barrage/internal/netpolicy"
	"github.com/barrage/barrage/internal/profile"
	"github.com/barrage/barrage/internal/scenario"
)

// names resolves a fixed set of host names, as a test's DNS.
type names map[string][]netip.Addr

func (n names) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := n[host]; ok {
		return a, nil
	}
	return nil, errors.New("no such host")
}

func mustPlan(t *testing.T, doc string) *scenario.Plan {
	t.Helper()
	s, err := scenario.ParseYAML([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	p, err := scenario.Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestGuardTargets(t *testing.T) {
	policy, err := netpolicy.Parse([]string{"127.0.0.1/32:8080", "api.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	g := &Guard{Policy: policy, Resolver: names{
		"api.example.com": {netip.MustParseAddr("192.0.2.10")},
		"rebind.example":  {netip.MustParseAddr("169.254.169.254")},
		"localhost":       {netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")},
	}}
	steps := func(urls ...string) string {
		doc := "name: g\nvirtual_users: 1\nduration_seconds: 1\nvariables:\n  host: 127.0.0.2\nsteps:\n"
		for _, u := range urls {
			doc += "  - url_template: \"" + u + "\"\n"
		}
		return doc
	}
	tests := []struct {
		name, base string
		urls       []string
		field      string // "" : allowed
	}{
		{name: "allowed loopback port", base: "http://127.0.0.1:8080", urls: []string{"/a"}},
		{name: "another loopback port", base: "http://127.0.0.1:9090", urls: []string{"/a"}, field: "target_base_url"},
		{name: "another loopback address", base: "http://127.0.0.2:8080", urls: []string{"/a"}, field: "target_base_url"},
		{name: "cloud metadata", base: "http://169.254.169.254", urls: []string{"/latest/meta-data"}, field: "target_base_url"},
		{name: "private", base: "http://10.0.0.1", urls: []string{"/"}, field: "target_base_url"},
		{name: "IPv6 loopback", base: "http://[::1]:8080", urls: []string{"/"}, field: "target_base_url"},
		{name: "named host", base: "https://api.example.com", urls: []string{"/x"}},
		{name: "a name that resolves to metadata", base: "http://127.0.0.1:8080", urls: []string{"/a", "http://rebind.example/"}, field: "steps[1].url"},
		{name: "a step elsewhere", base: "http://127.0.0.1:8080", urls: []string{"https://evil.example/"}, field: "steps[0].url"},
		{name: "localhost on the allowed port", base: "http://localhost:8080", urls: []string{"/a"}},
		{name: "templated host: the worker checks", base: "http://127.0.0.1:8080", urls: []string{"http://{{ host }}/x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := g.checkTargets(t.Context(), tc.base, mustPlan(t, steps(tc.urls...)))
			var se *Error
			switch {
			case tc.field == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.field != "" && (!errors.As(err, &se) || se.Code != "target_not_allowed" || se.Field != tc.field || se.Kind != Invalid):
				t.Fatalf("err = %#v, want target_not_allowed on %s", err, tc.field)
			case tc.field != "" && !strings.Contains(se.Message, "--allow-target"):
				t.Fatalf("the message does not name the flag: %s", se.Message)
			}
		})
	}
	if err := (&Guard{}).checkTargets(t.Context(), "http://10.0.0.1", mustPlan(t, steps("/"))); err != nil {
		t.Fatalf("no policy refused: %v", err)
	}
	var nilGuard *Guard
	if err := nilGuard.checkTargets(t.Context(), "http://10.0.0.1", mustPlan(t, steps("/"))); err != nil {
		t.Fatalf("nil guard refused: %v", err)
	}
}

func TestGuardCaps(t *testing.T) {
	g := &Guard{MaxVUs: 50, MaxRPS: 100, MaxDuration: time.Minute}
	tests := []struct {
		name, doc, field string
	}{
		{name: "within", doc: "virtual_users: 50\nduration_seconds: 30\n"},
		{name: "too many VUs", doc: "virtual_users: 51\nduration_seconds: 10\n", field: "max_vus"},
		{name: "too long", doc: "virtual_users: 5\nduration_seconds: 61\n", field: "max_duration"},
		{name: "graceful stop counts", doc: "virtual_users: 5\nduration_seconds: 55\ngraceful_stop: 10s\n", field: "max_duration"},
		{name: "open within", doc: "rate_per_second: 100\nmax_vus: 50\nduration_seconds: 10\n"},
		{name: "rate over", doc: "rate_per_second: 101\nmax_vus: 50\nduration_seconds: 10\n", field: "max_rps"},
		{name: "pool over", doc: "rate_per_second: 10\nmax_vus: 80\nduration_seconds: 10\n", field: "max_vus"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := g.checkCaps(mustPlan(t, "name: c\n"+tc.doc+"steps:\n  - url_template: /\n"))
			var se *Error
			switch {
			case tc.field == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.field != "" && (!errors.As(err, &se) || se.Code != "cap_exceeded" || se.Field != tc.field):
				t.Fatalf("err = %v, want cap_exceeded on %s", err, tc.field)
			}
		})
	}
	if err := g.checkRamp(profile.Closed, 51); err == nil {
		t.Fatal("a ramp to 51 VUs passed a cap of 50")
	}
	if err := g.checkRamp(profile.Open, 100); err != nil {
		t.Fatalf("a ramp to the rate cap was refused: %v", err)
	}
}
