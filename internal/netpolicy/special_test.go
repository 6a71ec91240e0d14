package netpolicy

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
)

func TestSpecial(t *testing.T) {
	tests := []struct {
		addr string
		want string // a substring of the class; "" for an ordinary address
	}{
		{"127.0.0.1", "loopback"},
		{"127.255.255.254", "loopback"},
		{"::1", "loopback"},
		{"10.0.0.1", "RFC 1918"},
		{"10.255.255.255", "RFC 1918"},
		{"172.16.0.1", "RFC 1918"},
		{"172.31.255.255", "RFC 1918"},
		{"192.168.0.1", "RFC 1918"},
		{"169.254.169.254", "cloud metadata"},
		{"169.254.0.1", "link-local"},
		{"100.64.0.1", "CGNAT"},
		{"100.127.255.255", "CGNAT"},
		{"fd00::1", "unique-local"},
		{"fc00::1", "unique-local"},
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "link-local"},
		{"febf:ffff::1", "link-local"},
		{"0.0.0.0", "unspecified"},
		{"0.1.2.3", "unspecified"},
		{"::", "unspecified"},
		{"224.0.0.1", "multicast"},
		{"239.255.255.250", "multicast"},
		{"ff02::1", "multicast"},
		{"255.255.255.255", "reserved"},
		{"::ffff:127.0.0.1", "loopback"},
		{"::ffff:169.254.169.254", "cloud metadata"},
		{"::ffff:10.0.0.1", "RFC 1918"},
		{"64:ff9b::a9fe:a9fe", "NAT64"},
		{"64:ff9b::7f00:1", "NAT64"},
		{"64:ff9b:1::a9fe:a9fe", "NAT64"},
		{"2002:7f00:1::", "6to4"},
		{"2001:0:4136:e378::1", "Teredo"},
		{"::127.0.0.1", "IPv4-compatible"},
		{"fec0::1", "site-local"},
		{"198.18.0.1", "benchmarking"},

		{"8.8.8.8", ""},
		{"172.15.255.255", ""},
		{"172.32.0.1", ""},
		{"100.63.255.255", ""},
		{"100.128.0.1", ""},
		{"169.253.255.255", ""},
		{"11.0.0.1", ""},
		{"203.0.113.5", ""},
		{"2606:4700::1111", ""},
		{"2001:db8::1", ""},
		{"::ffff:8.8.8.8", ""},
		{"64:ff9c::1", ""},
	}
	for _, tc := range tests {
		got := Special(netip.MustParseAddr(tc.addr))
		if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("Special(%s) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}

// resolver answers from a table and counts the names it was asked for.
type resolver struct {
	names map[string][]string
	mu    sync.Mutex
	asked []string
}

func (r *resolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	r.asked = append(r.asked, host)
	r.mu.Unlock()
	addrs, ok := r.names[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	out := make([]netip.Addr, len(addrs))
	for i, a := range addrs {
		out[i] = netip.MustParseAddr(a)
	}
	return out, nil
}

func TestCheckURL(t *testing.T) {
	names := map[string][]string{
		"app.example.com":   {"127.0.0.1"},
		"api.example.com":   {"203.0.113.5"},
		"mixed.example.com": {"10.0.0.5", "203.0.113.6"},
		"meta.example.com":  {"::ffff:169.254.169.254"},
		"nat64.example.com": {"64:ff9b::a9fe:a9fe"},
		"lan.example.com":   {"10.1.2.3"},
	}
	tests := []struct {
		name    string
		entries []string
		url     string
		refused string // a substring of the refusal; "" when allowed
		noDNS   bool   // the URL must not be resolved
	}{
		{name: "named, resolving to loopback", entries: []string{"app.example.com"}, url: "http://app.example.com/", refused: "loopback"},
		{name: "wildcard, resolving to loopback", entries: []string{"*.example.com"}, url: "http://app.example.com/", refused: "loopback"},
		{name: "unnamed, resolving to loopback", entries: []string{"203.0.113.0/24"}, url: "http://app.example.com/", refused: "loopback"},
		{name: "resolving to loopback, CIDR allowed", entries: []string{"app.example.com", "127.0.0.0/8"}, url: "http://app.example.com:8080/x"},
		{name: "resolving to loopback, CIDR on another port", entries: []string{"127.0.0.1/32:8080"}, url: "http://app.example.com/", refused: "loopback"},
		{name: "resolving to mapped metadata", entries: []string{"*.example.com"}, url: "http://meta.example.com/", refused: "cloud metadata"},
		{name: "resolving to NAT64 metadata", entries: []string{"*.example.com"}, url: "http://nat64.example.com/", refused: "NAT64"},
		{name: "named, public", entries: []string{"api.example.com"}, url: "https://api.example.com/v1?q=1#f"},
		{name: "unnamed, public", entries: []string{"other.example.com"}, url: "https://api.example.com/", refused: "not in the allowed targets"},
		{name: "unnamed, in a CIDR", entries: []string{"10.1.0.0/16"}, url: "http://lan.example.com/"},
		{name: "one allowed address of several", entries: []string{"mixed.example.com"}, url: "http://mixed.example.com/"},
		{name: "named, not resolvable here", entries: []string{"*.corp.example"}, url: "http://svc.corp.example/"},
		{name: "named with a trailing dot, not resolvable here", entries: []string{"svc.corp.example"}, url: "http://svc.corp.example./"},
		{name: "unnamed, not resolvable", entries: []string{"api.example.com"}, url: "http://nowhere.example/", refused: "does not resolve"},
		{name: "user info", entries: []string{"api.example.com"}, url: "http://u:p@api.example.com/"},

		{name: "templated host", entries: []string{"api.example.com"}, url: "http://{{ host }}/x", noDNS: true},
		{name: "templated subdomain", entries: []string{"api.example.com"}, url: "https://{{ tenant }}.example.com/", noDNS: true},
		{name: "templated URL", entries: []string{"api.example.com"}, url: "{{ next }}", noDNS: true},
		{name: "templated scheme", entries: []string{"api.example.com"}, url: "{{ scheme }}://127.0.0.1/", noDNS: true},
		{name: "path", entries: []string{"api.example.com"}, url: "/login", noDNS: true},
		{name: "path with a URL in its query", entries: []string{"api.example.com"}, url: "/go?next=http://127.0.0.1/", noDNS: true},

		{name: "v4 literal refused", entries: []string{"*.example.com"}, url: "http://127.0.0.1/", refused: "loopback", noDNS: true},
		{name: "metadata literal refused", entries: []string{"*.example.com"}, url: "http://169.254.169.254/latest/meta-data/", refused: "cloud metadata", noDNS: true},
		{name: "v4 literal in CIDR", entries: []string{"127.0.0.1/32:8080"}, url: "http://127.0.0.1:8080/", noDNS: true},
		{name: "v6 literal in CIDR", entries: []string{"::1/128"}, url: "http://[::1]:8080/", noDNS: true},
		{name: "v6 literal refused", entries: []string{"*.example.com"}, url: "http://[::1]:8080/", refused: "loopback", noDNS: true},
		{name: "public literal, not allowed", entries: []string{"api.example.com"}, url: "http://203.0.113.5/", refused: "not in the allowed targets", noDNS: true},

		{name: "https defaults to 443", entries: []string{"api.example.com:443"}, url: "https://api.example.com/"},
		{name: "HTTPS in capitals defaults to 443", entries: []string{"api.example.com:443"}, url: "HTTPS://api.example.com/"},
		{name: "http defaults to 80", entries: []string{"api.example.com:443"}, url: "http://api.example.com/", refused: "not in the allowed targets"},
		{name: "explicit port", entries: []string{"api.example.com:443"}, url: "http://api.example.com:443/"},
		{name: "literal, http on 80", entries: []string{"198.51.100.7:80"}, url: "http://198.51.100.7/", noDNS: true},
		{name: "literal, https not on 80", entries: []string{"198.51.100.7:80"}, url: "https://198.51.100.7/", refused: "not in the allowed targets", noDNS: true},

		{name: "no host", entries: []string{"api.example.com"}, url: "http:///x", refused: "no host", noDNS: true},
		{name: "bad port", entries: []string{"api.example.com"}, url: "http://api.example.com:99999/", refused: "port", noDNS: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &resolver{names: names}
			err := mustParse(t, tc.entries...).CheckURL(context.Background(), r, tc.url)
			switch {
			case tc.refused == "" && err != nil:
				t.Fatalf("CheckURL(%q): %v", tc.url, err)
			case tc.refused != "" && (err == nil || !strings.Contains(err.Error(), tc.refused)):
				t.Fatalf("CheckURL(%q) = %v, want refused for %q", tc.url, err, tc.refused)
			}
			if tc.noDNS && len(r.asked) > 0 {
				t.Errorf("resolved %q", r.asked)
			}
		})
	}
}
