package netpolicy

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// special are the ranges no host name may lead to: only a CIDR rule that
// contains the address allows it.
var special = []struct {
	prefix netip.Prefix
	class  string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "unspecified"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private (RFC 1918)"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private (RFC 1918)"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private (RFC 1918)"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local (cloud metadata)"},
	{netip.MustParsePrefix("100.64.0.0/10"), "CGNAT"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"}, // and 255.255.255.255, broadcast
	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("fc00::/7"), "unique-local (ULA)"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
	{netip.MustParsePrefix("64:ff9b::/96"), "NAT64"},    // reaches any IPv4 address, private ones too
	{netip.MustParsePrefix("64:ff9b:1::/48"), "NAT64"},  // local-use NAT64 (RFC 8215), likewise
	{netip.MustParsePrefix("fec0::/10"), "site-local"},  // deprecated, still routed inside some networks
	{netip.MustParsePrefix("2002::/16"), "6to4"},        // likewise
	{netip.MustParsePrefix("2001::/32"), "Teredo"},      // likewise
	{netip.MustParsePrefix("::/96"), "IPv4-compatible"}, // deprecated; embeds an IPv4 address
}

// Special returns the class of a refused-by-default address ("loopback",
// "private (RFC 1918)", ...), or "" for an ordinary one.
func Special(a netip.Addr) string {
	a = plain(a)
	for _, s := range special {
		if s.prefix.Contains(a) {
			return s.class
		}
	}
	return ""
}

// Resolver looks host names up; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// CheckURL tells, before a run starts, whether a URL's host is allowed: an
// address must be; a name must resolve (with r) to at least one allowed
// address, or, when it does not resolve here, be named by a rule (workers
// may see names the server cannot). The worker checks every connection
// again when it dials. A URL whose host is a template is left to the
// worker, and so is a path.
func (p *Policy) CheckURL(ctx context.Context, r Resolver, raw string) error {
	if p == nil {
		return nil
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok || !validScheme(scheme) {
		// A path (whose query may hold a URL: "/go?to=http://x"), or a
		// template that makes the whole URL: the worker checks.
		return nil
	}
	authority, _, _ := strings.Cut(rest, "/")
	authority, _, _ = strings.Cut(authority, "?")
	authority, _, _ = strings.Cut(authority, "#")
	if strings.Contains(scheme+authority, "{{") {
		return nil // the host is a template: the worker checks what it becomes
	}
	u, err := url.Parse(scheme + "://" + authority)
	if err != nil {
		return fmt.Errorf("URL %q: %w", raw, err)
	}
	host := u.Hostname()
	if host == "" {
		return fmt.Errorf("URL %q: no host", raw)
	}
	port := uint16(80)
	if strings.EqualFold(u.Scheme, "https") {
		port = 443
	}
	if ps := u.Port(); ps != "" {
		n, err := strconv.ParseUint(ps, 10, 16)
		if err != nil {
			return fmt.Errorf("URL %q: bad port %q", raw, ps)
		}
		port = uint16(n)
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return p.Allow("", netip.AddrPortFrom(a, port))
	}
	// A name rule does not allow what the name resolves to when that is a
	// special address (Allow), so a named host is resolved too: a run
	// whose every connection would be refused is refused now.
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		if p.namesHost(strings.ToLower(strings.TrimSuffix(host, ".")), port) {
			return nil
		}
		return &BlockedError{Host: host, Reason: fmt.Sprintf("no rule names it, and it does not resolve (%v)", err)}
	}
	var first error
	for _, a := range addrs {
		err := p.Allow(host, netip.AddrPortFrom(a, port))
		if err == nil {
			return nil
		}
		if first == nil {
			first = err
		}
	}
	return first
}

// validScheme: RFC 3986's scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
func validScheme(s string) bool {
	for i, c := range s {
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (i == 0 || !(c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return s != ""
}

// namesHost: a name rule allows host on port, in p and in what narrows it.
func (p *Policy) namesHost(host string, port uint16) bool {
	for q := p; q != nil; q = q.also {
		ok := false
		for _, r := range q.rules {
			if r.host != "" && matchHost(r.host, host) && (r.port == 0 || r.port == port) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// DefaultResolver is the system's.
var DefaultResolver Resolver = net.DefaultResolver
