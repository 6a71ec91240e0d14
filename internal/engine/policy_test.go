package engine

import (
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/barrage/barrage/internal/hist"
	"github.com/barrage/barrage/internal/netpolicy"
)

// Every test here uses loopback addresses only: 127.0.0.1 and 127.0.0.2, a
// loopback alias Linux answers without setup.

// serverAt starts a counting server listening on host (a loopback address),
// over TLS when tls is set, offering HTTP/2 (h2 over TLS, h2c without).
func serverAt(t *testing.T, host string, tls bool, h http.HandlerFunc) *countingServer {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Skipf("listen on %s: %v", host, err)
	}
	return newCountingServerOn(t, func(s *httptest.Server) {
		s.Listener.Close()
		s.Listener = ln
		if tls {
			s.EnableHTTP2 = true
			s.StartTLS()
			return
		}
		var p http.Protocols
		p.SetHTTP1(true)
		p.SetUnencryptedHTTP2(true)
		s.Config.Protocols = &p
		s.Start()
	}, h)
}

func (cs *countingServer) conns() int {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return len(cs.connAt)
}

// blockedCalls records Config.Blocked's calls.
type blockedCalls struct {
	mu    sync.Mutex
	hosts []string
	errs  []error
}

func (b *blockedCalls) note(host string, err error) {
	b.mu.Lock()
	b.hosts = append(b.hosts, host)
	b.errs = append(b.errs, err)
	b.mu.Unlock()
}

// check fails t unless Blocked was called once for each of hosts, with a
// refusal by the policy.
func (b *blockedCalls) check(t *testing.T, hosts ...string) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if !slices.Equal(b.hosts, hosts) {
		t.Errorf("Blocked called for %q, want once for each of %q", b.hosts, hosts)
	}
	for _, err := range b.errs {
		if _, ok := err.(*netpolicy.BlockedError); !ok {
			t.Errorf("Blocked called with %v, want the *netpolicy.BlockedError", err)
		}
	}
}

func mustPolicy(t *testing.T, entries ...string) *netpolicy.Policy {
	t.Helper()
	p, err := netpolicy.Parse(entries)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// checkSteps fails t unless every request of step allowed succeeded and
// every one of step refused was an error of class blocked.
func checkSteps(t *testing.T, c *collector, refused, allowed int) {
	t.Helper()
	_, steps, _ := c.total(t)
	if st := steps[refused]; st.Requests == 0 || st.Errors != st.Requests || st.Classes[hist.ClassBlocked] != st.Requests {
		t.Errorf("refused step: %d requests, %d errors, classes %v; want all blocked", st.Requests, st.Errors, st.Classes)
	}
	if allowed >= 0 {
		if st := steps[allowed]; st.Requests == 0 || st.Errors != 0 {
			t.Errorf("allowed step: %d requests, %d errors, classes %v", st.Requests, st.Errors, st.Classes)
		}
	}
}

// TestPolicyRefusesBeforeConnecting runs a step against 127.0.0.2, outside
// a policy that allows only 127.0.0.1/32, and one against 127.0.0.1, over
// each transport: the h1 client (its warm-up too, in the open model) and
// net/http for HTTPS, HTTP/2 and h2c. The refused target never sees a
// connection.
func TestPolicyRefusesBeforeConnecting(t *testing.T) {
	tests := []struct {
		name  string
		tls   bool
		model string // the plan's load model and HTTP options
	}{
		{name: "h1, closed model", model: "virtual_users: 2"},
		{name: "h1, open model warmed", model: "rate_per_second: 50\npre_allocated_vus: 2"},
		{name: "https", tls: true, model: "virtual_users: 2\nhttp: {insecure_skip_verify: true}"},
		{name: "https, http2", tls: true, model: "virtual_users: 2\nhttp: {http2: true, insecure_skip_verify: true}"},
		{name: "h2c", model: "virtual_users: 2\nhttp: {http2: true}"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok := func(http.ResponseWriter, *http.Request) {}
			allowed := serverAt(t, "127.0.0.1", tc.tls, ok)
			refused := serverAt(t, "127.0.0.2", tc.tls, ok)
			// The refused step comes first: the open model warms its host.
			p := plan(t, `name: policy
duration_seconds: 0.3
`+tc.model+`
steps:
  - {name: refused, url_template: '`+refused.URL+`/'}
  - {name: allowed, url_template: '`+allowed.URL+`/'}
`)
			var blocked blockedCalls
			_, c := run(t, Config{Plan: p, Policy: mustPolicy(t, "127.0.0.1/32"), Blocked: blocked.note})
			checkSteps(t, c, 0, 1)
			if n := refused.conns(); n != 0 || refused.total.Load() != 0 {
				t.Errorf("the refused target accepted %d connections, answered %d requests", n, refused.total.Load())
			}
			blocked.check(t, "127.0.0.2")
		})
	}
}

// TestPolicyRefusesANameThatResolvesToLoopback: a rule naming localhost
// does not allow what it resolves to; a CIDR rule does.
func TestPolicyRefusesANameThatResolvesToLoopback(t *testing.T) {
	if addrs, err := net.LookupHost("localhost"); err != nil || len(addrs) == 0 {
		t.Skipf("localhost does not resolve: %v %v", addrs, err)
	}
	srv := serverAt(t, "127.0.0.1", false, func(http.ResponseWriter, *http.Request) {})
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	p := plan(t, `name: localhost
virtual_users: 1
duration_seconds: 0.2
steps: [{url_template: 'http://localhost:`+port+`/'}]
`)

	var blocked blockedCalls
	_, c := run(t, Config{Plan: p, Policy: mustPolicy(t, "localhost"), Blocked: blocked.note})
	checkSteps(t, c, 0, -1)
	if n := srv.conns(); n != 0 {
		t.Errorf("the target accepted %d connections under a name-only policy", n)
	}
	blocked.check(t, "localhost")

	_, c = run(t, Config{Plan: p, Policy: mustPolicy(t, "localhost", "127.0.0.0/8", "::1/128")})
	if all, _, _ := c.total(t); all.Requests == 0 || all.Errors != 0 {
		t.Errorf("with a loopback CIDR: %d requests, classes %v", all.Requests, all.Classes)
	}
}

// TestPolicyRefusesARedirect: the engine follows a redirect as a new
// request, dialed through the same check, so an allowed target cannot send
// the load elsewhere.
func TestPolicyRefusesARedirect(t *testing.T) {
	elsewhere := serverAt(t, "127.0.0.2", false, func(http.ResponseWriter, *http.Request) {})
	start := serverAt(t, "127.0.0.1", false, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+"/", http.StatusFound)
	})
	p := plan(t, `name: redirect
virtual_users: 1
duration_seconds: 0.2
steps: [{url_template: /go}]
`)
	var blocked blockedCalls
	_, c := run(t, Config{Plan: p, BaseURL: start.URL, Policy: mustPolicy(t, "127.0.0.1/32"), Blocked: blocked.note})
	all, _, _ := c.total(t)
	if all.Status[302] == 0 || all.Classes[hist.ClassBlocked] != all.Status[302] || all.Errors != all.Status[302] {
		t.Errorf("status %v, classes %v: want each redirect followed by a blocked hop", all.Status, all.Classes)
	}
	if n := elsewhere.conns(); n != 0 {
		t.Errorf("the redirect's target accepted %d connections", n)
	}
	blocked.check(t, "127.0.0.2")
}

func TestClassifyBlocked(t *testing.T) {
	// A refusal is wrapped like a dial error, which on its own would be
	// classed as other.
	err := &net.OpError{Op: "dial", Net: "tcp", Err: &netpolicy.BlockedError{Reason: "test"}}
	if got := classify(err); got != hist.ClassBlocked {
		t.Fatalf("classify(%v) = %v, want blocked", err, got)
	}
}

// TestBlockedHostsAreCapped: a templated host that makes a new refused
// address for every request reports MaxBlockedHosts of them and then says
// that it stopped, instead of one report per address.
func TestBlockedHostsAreCapped(t *testing.T) {
	p := plan(t, `name: many
virtual_users: 2
duration_seconds: 0.5
steps: [{url_template: "http://127.0.{{ $randInt(1, 250) }}.{{ $randInt(1, 250) }}:9/"}]
`)
	var blocked blockedCalls
	_, c := run(t, Config{Plan: p, Policy: mustPolicy(t, "127.0.0.1/32"), Blocked: blocked.note})
	all, _, _ := c.total(t)
	blocked.mu.Lock()
	defer blocked.mu.Unlock()
	if all.Classes[hist.ClassBlocked] < 100 {
		t.Fatalf("only %d requests were refused: the test needs many hosts", all.Classes[hist.ClassBlocked])
	}
	if n := len(blocked.hosts); n != MaxBlockedHosts+1 || blocked.hosts[n-1] != "" {
		t.Fatalf("%d requests refused, Blocked called %d times (last host %q): want %d hosts and one \"more\" call",
			all.Classes[hist.ClassBlocked], n, blocked.hosts[len(blocked.hosts)-1], MaxBlockedHosts)
	}
}

// TestRedirectKeepsCredentialsHome: a redirect to another origin does not
// carry Authorization or a header holding a secret; one to the same
// origin does.
func TestRedirectKeepsCredentialsHome(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]http.Header{}
	record := func(who string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen[who] = r.Header.Clone()
			mu.Unlock()
		}
	}
	other := serverAt(t, "127.0.0.1", false, record("other origin"))
	start := serverAt(t, "127.0.0.1", false, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, other.URL+"/", http.StatusFound)
		case "/home":
			http.Redirect(w, r, "/landed", http.StatusFound)
		default:
			record("same origin")(w, r)
		}
	})
	p := plan(t, `name: creds
virtual_users: 1
duration_seconds: 0.2
http:
  headers:
    Authorization: "Bearer {{ secret.TOKEN }}"
    X-Custom: "k={{ secret.TOKEN }}"
    X-Plain: plain
steps:
  - {name: away, url_template: /away}
  - {name: home, url_template: /home}
`)
	run(t, Config{Plan: p, BaseURL: start.URL, Secrets: map[string]string{"TOKEN": "s3cr3t-value"}})
	mu.Lock()
	defer mu.Unlock()
	away, home := seen["other origin"], seen["same origin"]
	if away == nil || home == nil {
		t.Fatalf("redirects not followed: %v", seen)
	}
	if away.Get("Authorization") != "" || away.Get("X-Custom") != "" || away.Get("X-Plain") != "plain" {
		t.Errorf("another origin got Authorization %q, X-Custom %q, X-Plain %q: want only X-Plain", away.Get("Authorization"), away.Get("X-Custom"), away.Get("X-Plain"))
	}
	if home.Get("Authorization") != "Bearer s3cr3t-value" || home.Get("X-Custom") != "k=s3cr3t-value" {
		t.Errorf("the same origin got Authorization %q, X-Custom %q: want both", home.Get("Authorization"), home.Get("X-Custom"))
	}
}
