package netpolicy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// conn is a connection to check: to addr, reached by the name host.
type conn struct {
	host string
	addr string // "ADDRESS:PORT", "[V6]:PORT"
}

func (c conn) check(p *Policy) error {
	return p.Allow(c.host, netip.MustParseAddrPort(c.addr))
}

func mustParse(t *testing.T, entries ...string) *Policy {
	t.Helper()
	p, err := Parse(entries)
	if err != nil {
		t.Fatalf("Parse(%q): %v", entries, err)
	}
	return p
}

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		entries []string
		wantErr string // "" when the entries parse
		allowed []conn
		refused []conn
	}{
		{name: "v4 CIDR", entries: []string{"10.1.0.0/16"},
			allowed: []conn{{"", "10.1.2.3:80"}, {"", "10.1.255.255:1"}}, refused: []conn{{"", "10.2.0.1:80"}}},
		{name: "v4 CIDR with host bits", entries: []string{"10.1.2.3/16"}, allowed: []conn{{"", "10.1.9.9:80"}}},
		{name: "v4 CIDR with port", entries: []string{"10.1.0.0/16:443"},
			allowed: []conn{{"", "10.1.2.3:443"}}, refused: []conn{{"", "10.1.2.3:80"}}},
		{name: "v4 address", entries: []string{"192.0.2.7"},
			allowed: []conn{{"", "192.0.2.7:80"}, {"", "192.0.2.7:9999"}}, refused: []conn{{"", "192.0.2.8:80"}}},
		{name: "v4 address with port", entries: []string{"192.0.2.7:8080"},
			allowed: []conn{{"", "192.0.2.7:8080"}}, refused: []conn{{"", "192.0.2.7:80"}}},
		{name: "v6 address", entries: []string{"2001:db8::1"},
			allowed: []conn{{"", "[2001:db8::1]:80"}}, refused: []conn{{"", "[2001:db8::2]:80"}}},
		{name: "v6 address bracketed with port", entries: []string{"[2001:db8::1]:8080"},
			allowed: []conn{{"", "[2001:db8::1]:8080"}}, refused: []conn{{"", "[2001:db8::1]:80"}}},
		{name: "v6 address bracketed without port", entries: []string{"[2001:db8::1]"}, allowed: []conn{{"", "[2001:db8::1]:80"}}},
		{name: "v6 CIDR", entries: []string{"2001:db8::/32"},
			allowed: []conn{{"", "[2001:db8:ffff::1]:80"}}, refused: []conn{{"", "[2001:db9::1]:80"}}},
		{name: "v6 CIDR bracketed with port", entries: []string{"[fd00::/8]:443"},
			allowed: []conn{{"", "[fd12::1]:443"}}, refused: []conn{{"", "[fd12::1]:80"}}},
		{name: "IPv4-mapped CIDR", entries: []string{"::ffff:10.0.0.0/104"},
			allowed: []conn{{"", "10.9.9.9:80"}, {"", "[::ffff:10.9.9.9]:80"}}, refused: []conn{{"", "11.0.0.1:80"}}},
		{name: "IPv4-mapped address", entries: []string{"::ffff:127.0.0.1"}, allowed: []conn{{"", "127.0.0.1:80"}}},
		{name: "zoned v6 address", entries: []string{"fe80::1%eth0"}, allowed: []conn{{"", "[fe80::1]:80"}, {"", "[fe80::1%eth1]:80"}}},
		{name: "name", entries: []string{"api.example.com"},
			allowed: []conn{{"api.example.com", "203.0.113.5:443"}},
			refused: []conn{{"www.example.com", "203.0.113.5:443"}, {"", "203.0.113.5:443"}, {"a.api.example.com", "203.0.113.5:443"}}},
		{name: "name in capitals with a trailing dot", entries: []string{"API.Example.COM."},
			allowed: []conn{{"api.example.com", "203.0.113.5:80"}, {"Api.Example.Com.", "203.0.113.5:80"}}},
		{name: "name with port", entries: []string{"api.example.com:8443"},
			allowed: []conn{{"api.example.com", "203.0.113.5:8443"}}, refused: []conn{{"api.example.com", "203.0.113.5:443"}}},
		{name: "single-label name", entries: []string{"localhost"}, allowed: []conn{{"localhost", "203.0.113.5:80"}}},
		{name: "wildcard", entries: []string{"*.example.com"},
			allowed: []conn{{"a.example.com", "203.0.113.5:80"}, {"a.b.example.com", "203.0.113.5:80"}},
			refused: []conn{{"example.com", "203.0.113.5:80"}, {"badexample.com", "203.0.113.5:80"}}},
		{name: "wildcard with port", entries: []string{"*.example.com:443"},
			allowed: []conn{{"a.example.com", "203.0.113.5:443"}}, refused: []conn{{"a.example.com", "203.0.113.5:80"}}},
		{name: "comma-separated, spaces and empty entries", entries: []string{"10.0.0.0/8, api.example.com,", "", " "},
			allowed: []conn{{"", "10.0.0.1:80"}, {"api.example.com", "203.0.113.5:80"}}},
		{name: "no entries allow nothing", entries: nil,
			refused: []conn{{"", "203.0.113.5:80"}, {"api.example.com", "203.0.113.5:80"}}},

		{name: "bad prefix length", entries: []string{"10.0.0.0/33"}, wantErr: "10.0.0.0/33"},
		{name: "two slashes", entries: []string{"10.0.0.0/8/9"}, wantErr: "10.0.0.0/8/9"},
		{name: "port 0", entries: []string{"api.example.com:0"}, wantErr: "bad port"},
		{name: "port too large", entries: []string{"api.example.com:65536"}, wantErr: "bad port"},
		{name: "port name", entries: []string{"api.example.com:http"}, wantErr: "bad port"},
		{name: "empty port", entries: []string{"api.example.com:"}, wantErr: "bad port"},
		{name: "empty bracketed port", entries: []string{"[::1]:"}, wantErr: "bad port"},
		{name: "unclosed bracket", entries: []string{"[::1"}, wantErr: "want [ADDRESS]:PORT"},
		{name: "junk after bracket", entries: []string{"[::1]x"}, wantErr: "want [ADDRESS]:PORT"},
		{name: "name in brackets", entries: []string{"[example.com]:80"}, wantErr: "in brackets"},
		{name: "URL", entries: []string{"http://example.com"}, wantErr: "bad port"},
		{name: "path", entries: []string{"example.com/api"}, wantErr: "example.com/api"},
		{name: "bare star", entries: []string{"*"}, wantErr: "not a CIDR"},
		{name: "inner star", entries: []string{"a.*.example.com"}, wantErr: "not a CIDR"},
		{name: "leading hyphen", entries: []string{"-a.example.com"}, wantErr: "not a CIDR"},
		{name: "empty label", entries: []string{"a..example.com"}, wantErr: "not a CIDR"},
		{name: "space in a name", entries: []string{"exa mple.com"}, wantErr: "not a CIDR"},
		{name: "label too long", entries: []string{strings.Repeat("a", 64) + ".com"}, wantErr: "not a CIDR"},
		{name: "mistyped v4 address", entries: []string{"256.1.1.1"}, wantErr: "not a CIDR"},
		{name: "short v4 address", entries: []string{"10.0.0"}, wantErr: "not a CIDR"},
		{name: "two ports", entries: []string{"1.2.3.4:80:90"}, wantErr: "not a CIDR"},
		{name: "one bad entry among good ones", entries: []string{"10.0.0.0/8", "api.example.com,bad..name"}, wantErr: "bad..name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse(tc.entries)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Parse(%q) = %v, want an error containing %q", tc.entries, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.entries, err)
			}
			for _, c := range tc.allowed {
				if err := c.check(p); err != nil {
					t.Errorf("%+v refused: %v", c, err)
				}
			}
			for _, c := range tc.refused {
				if err := c.check(p); !IsBlocked(err) {
					t.Errorf("%+v: %v, want refused", c, err)
				}
			}
		})
	}
}

func TestEntriesRoundTrip(t *testing.T) {
	p := mustParse(t, "10.0.0.0/8:443, *.example.com", "[2001:db8::1]:8080")
	want := []string{"10.0.0.0/8:443", "*.example.com", "[2001:db8::1]:8080"}
	if got := p.Entries(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Entries() = %q, want %q", got, want)
	}
	if _, err := Parse(p.Entries()); err != nil {
		t.Fatalf("Entries do not parse again: %v", err)
	}
	if (*Policy)(nil).Entries() != nil {
		t.Error("a nil policy has entries")
	}
}

func TestAllow(t *testing.T) {
	tests := []struct {
		name    string
		entries []string
		conn    conn
		refused string // a substring of the refusal; "" when allowed
	}{
		{name: "name rule allows a public address", entries: []string{"api.example.com"}, conn: conn{"api.example.com", "203.0.113.5:443"}},
		{name: "name rule allows a public v6 address", entries: []string{"api.example.com"}, conn: conn{"api.example.com", "[2606:4700::1111]:443"}},
		{name: "name rule never allows loopback", entries: []string{"api.example.com"}, conn: conn{"api.example.com", "127.0.0.1:443"}, refused: "loopback"},
		{name: "name rule never allows v6 loopback", entries: []string{"api.example.com"}, conn: conn{"api.example.com", "[::1]:443"}, refused: "loopback"},
		{name: "name rule never allows private", entries: []string{"api.example.com"}, conn: conn{"api.example.com", "10.0.0.5:443"}, refused: "private"},
		{name: "name rule never allows metadata", entries: []string{"api.example.com"}, conn: conn{"api.example.com", "169.254.169.254:80"}, refused: "cloud metadata"},
		{name: "name rule never allows mapped loopback", entries: []string{"api.example.com"}, conn: conn{"api.example.com", "[::ffff:127.0.0.1]:80"}, refused: "loopback"},
		{name: "name rule never allows NAT64 metadata", entries: []string{"api.example.com"}, conn: conn{"api.example.com", "[64:ff9b::a9fe:a9fe]:80"}, refused: "NAT64"},
		{name: "wildcard never allows special", entries: []string{"*.example.com"}, conn: conn{"a.example.com", "192.168.1.1:80"}, refused: "private"},
		{name: "localhost named, no CIDR", entries: []string{"localhost"}, conn: conn{"localhost", "127.0.0.1:8080"}, refused: "loopback"},
		{name: "CIDR allows loopback", entries: []string{"127.0.0.0/8"}, conn: conn{"localhost", "127.0.0.1:8080"}},
		{name: "CIDR allows v6 loopback", entries: []string{"::1/128"}, conn: conn{"", "[::1]:8080"}},
		{name: "CIDR allows metadata", entries: []string{"169.254.169.254/32"}, conn: conn{"", "169.254.169.254:80"}},
		{name: "v4 CIDR allows the mapped address", entries: []string{"10.0.0.0/8"}, conn: conn{"", "[::ffff:10.1.2.3]:80"}},
		{name: "CIDR allows a special address under any name", entries: []string{"10.0.0.0/8"}, conn: conn{"internal.example.com", "10.1.2.3:80"}},
		{name: "CIDR allows only its range", entries: []string{"10.0.0.0/8"}, conn: conn{"", "192.168.1.1:80"}, refused: "private"},
		{name: "CIDR does not allow NAT64 of its range", entries: []string{"169.254.169.254/32"}, conn: conn{"", "[64:ff9b::a9fe:a9fe]:80"}, refused: "NAT64"},
		{name: "name rule port", entries: []string{"api.example.com:443"}, conn: conn{"api.example.com", "203.0.113.5:80"}, refused: "not in the allowed targets"},
		{name: "CIDR port", entries: []string{"127.0.0.1/32:8080"}, conn: conn{"", "127.0.0.1:8081"}, refused: "loopback"},
		{name: "CIDR port matches", entries: []string{"127.0.0.1/32:8080"}, conn: conn{"", "127.0.0.1:8080"}},
		{name: "unnamed host", entries: []string{"api.example.com"}, conn: conn{"evil.example.net", "203.0.113.5:443"}, refused: "not in the allowed targets"},
		{name: "an address given as host is no name", entries: []string{"api.example.com"}, conn: conn{"203.0.113.5", "203.0.113.5:443"}, refused: "not in the allowed targets"},
		{name: "host in capitals with a dot", entries: []string{"api.example.com"}, conn: conn{"API.EXAMPLE.COM.", "203.0.113.5:443"}},
		{name: "zoned link-local", entries: []string{"*.example.com"}, conn: conn{"a.example.com", "[fe80::1%eth0]:80"}, refused: "link-local"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.conn.check(mustParse(t, tc.entries...))
			switch {
			case tc.refused == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.refused != "" && (!IsBlocked(err) || !strings.Contains(err.Error(), tc.refused)):
				t.Fatalf("%v, want refused for %q", err, tc.refused)
			}
		})
	}
}

func TestNilPolicyAllowsEverything(t *testing.T) {
	var p *Policy
	for _, a := range []string{"127.0.0.1:80", "169.254.169.254:80", "[::1]:1"} {
		if err := p.Allow("x", netip.MustParseAddrPort(a)); err != nil {
			t.Errorf("%s: %v", a, err)
		}
	}
	if err := p.CheckURL(context.Background(), nil, "http://169.254.169.254/"); err != nil {
		t.Errorf("CheckURL: %v", err)
	}
}

func TestNarrow(t *testing.T) {
	server := mustParse(t, "*.example.com", "10.0.0.0/8")
	worker := mustParse(t, "api.example.com", "10.1.0.0/16", "*.example.org")
	tests := []struct {
		name    string
		policy  *Policy
		allowed []conn
		refused []conn
	}{
		{name: "both nil allow everything", policy: Narrow(nil, nil), allowed: []conn{{"", "127.0.0.1:80"}}},
		{name: "nil worker leaves the server's", policy: Narrow(server, nil),
			allowed: []conn{{"www.example.com", "203.0.113.5:80"}, {"", "10.2.0.1:80"}}},
		{name: "nil server takes the worker's", policy: Narrow(nil, worker),
			allowed: []conn{{"www.example.org", "203.0.113.5:80"}}, refused: []conn{{"www.example.com", "203.0.113.5:80"}}},
		{name: "worker narrows", policy: Narrow(server, worker),
			allowed: []conn{{"api.example.com", "203.0.113.5:80"}, {"", "10.1.2.3:80"}},
			refused: []conn{{"www.example.com", "203.0.113.5:80"}, {"", "10.2.0.1:80"}}},
		{name: "worker never widens", policy: Narrow(server, worker),
			refused: []conn{{"www.example.org", "203.0.113.5:80"}, {"", "192.168.1.1:80"}}},
		{name: "narrowing is symmetric", policy: Narrow(worker, server),
			allowed: []conn{{"api.example.com", "203.0.113.5:80"}, {"", "10.1.2.3:80"}},
			refused: []conn{{"www.example.com", "203.0.113.5:80"}, {"www.example.org", "203.0.113.5:80"}}},
		{name: "narrowed again", policy: Narrow(Narrow(server, worker), mustParse(t, "10.1.2.0/24")),
			allowed: []conn{{"", "10.1.2.3:80"}}, refused: []conn{{"", "10.1.3.3:80"}, {"api.example.com", "203.0.113.5:80"}}},
		{name: "the narrowed policy is unchanged", policy: server,
			allowed: []conn{{"www.example.com", "203.0.113.5:80"}, {"", "10.2.0.1:80"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, c := range tc.allowed {
				if err := c.check(tc.policy); err != nil {
					t.Errorf("%+v refused: %v", c, err)
				}
			}
			for _, c := range tc.refused {
				if err := c.check(tc.policy); !IsBlocked(err) {
					t.Errorf("%+v: %v, want refused", c, err)
				}
			}
		})
	}
	if got := Narrow(server, worker).Entries(); len(got) != 2 || got[0] != "*.example.com" {
		t.Errorf("a narrowed policy's entries are its own: %q", got)
	}
}

func TestControl(t *testing.T) {
	p := mustParse(t, "127.0.0.1/32", "api.example.com")
	tests := []struct {
		host, address string
		refused       bool
	}{
		{host: "", address: "127.0.0.1:80"},
		{host: "localhost", address: "[::ffff:127.0.0.1]:80"},
		{host: "", address: "127.0.0.2:80", refused: true},
		{host: "api.example.com", address: "203.0.113.5:443"},
		{host: "api.example.com", address: "[::1]:443", refused: true},
		{host: "api.example.com", address: "[fe80::1%lo]:443", refused: true},
		{host: "api.example.com", address: "not an address", refused: true},
	}
	for _, tc := range tests {
		err := p.Control(tc.host)("tcp", tc.address, nil)
		if tc.refused != IsBlocked(err) || !tc.refused && err != nil {
			t.Errorf("Control(%q)(%q) = %v, want refused %v", tc.host, tc.address, err, tc.refused)
		}
	}
}

func TestBlockedError(t *testing.T) {
	tests := []struct {
		err  *BlockedError
		want string
	}{
		{&BlockedError{Addr: netip.MustParseAddrPort("127.0.0.2:80"), Reason: "r"}, "target 127.0.0.2:80 not allowed: r"},
		{&BlockedError{Host: "127.0.0.2", Addr: netip.MustParseAddrPort("127.0.0.2:80"), Reason: "r"}, "target 127.0.0.2:80 not allowed: r"},
		{&BlockedError{Host: "localhost", Addr: netip.MustParseAddrPort("127.0.0.1:80"), Reason: "r"}, "target localhost (127.0.0.1:80) not allowed: r"},
		{&BlockedError{Host: "nowhere.example", Reason: "r"}, "target nowhere.example not allowed: r"},
	}
	for _, tc := range tests {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("%q, want %q", got, tc.want)
		}
	}
	wrapped := fmt.Errorf("dial: %w", &net.OpError{Op: "dial", Net: "tcp", Err: tests[0].err})
	if !IsBlocked(wrapped) || IsBlocked(errors.New("target not allowed")) || IsBlocked(nil) {
		t.Error("IsBlocked does not tell a wrapped refusal from other errors")
	}
}

// TestDialContextRefusesBeforeConnecting dials a loopback listener through
// a policy that does not allow it: the dial fails as blocked, and the
// listener never sees a connection.
func TestDialContextRefusesBeforeConnecting(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no 127.0.0.2 loopback alias: %v", err)
	}
	defer ln.Close()
	var accepted atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	var hooked atomic.Int64
	// The caller's ControlContext would make net.Dialer ignore a Control
	// hook: the check must run anyway, and so must the caller's hook.
	d := net.Dialer{Timeout: 2 * time.Second, ControlContext: func(context.Context, string, string, syscall.RawConn) error {
		hooked.Add(1)
		return nil
	}}
	ctx := context.Background()

	_, err = mustParse(t, "127.0.0.1/32").DialContext(d)(ctx, "tcp", ln.Addr().String())
	if !IsBlocked(err) {
		t.Fatalf("dial to %s: %v, want blocked", ln.Addr(), err)
	}
	if hooked.Load() != 0 {
		t.Error("the caller's hook ran after the policy refused")
	}

	c, err := mustParse(t, "127.0.0.2/32").DialContext(d)(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("allowed dial: %v", err)
	}
	c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for accepted.Load() < 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := accepted.Load(); n != 1 || hooked.Load() != 1 {
		t.Fatalf("the listener accepted %d connections and the caller's hook ran %d times, want 1 each (the refused dial sent nothing)", n, hooked.Load())
	}
}
