// Package netpolicy decides where load may go. A Policy is a list of
// allowed targets (CIDR ranges and host names, each optionally with a port);
// addresses in the special ranges — loopback, private, link-local (cloud
// metadata), CGNAT, unique-local, unspecified, multicast — are refused
// unless a CIDR rule names them explicitly, whatever host name led there.
//
// It is enforced twice: on the server, where a run whose URLs are outside
// the policy is refused before it starts (CheckURL), and on the worker at
// connect time (Control), on the address the name resolved to, so that DNS
// rebinding, redirects and templated URLs cannot escape it.
//
// A nil *Policy allows everything: the embedded `barrage run` on a user's
// own machine. Workers narrow the server's policy with their own (Narrow).
package netpolicy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
)

// Policy is a set of allowed targets. Its zero value allows nothing.
type Policy struct {
	rules []rule
	// also, when set, must allow an address too: a worker's own policy
	// narrowing the server's.
	also *Policy
}

// rule is one allowed target: a range of addresses or a host name
// ("*.example.com" for its subdomains), on one port or any (0).
type rule struct {
	prefix netip.Prefix // valid for an address rule
	host   string       // lower case, for a name rule
	port   uint16
	text   string
}

// Parse reads allowed targets: CIDR ("10.1.0.0/16"), an address
// ("192.0.2.7", "[2001:db8::1]:8080"), a host name ("api.example.com",
// "*.example.com"), each with an optional ":PORT" (a CIDR's port follows
// it: "10.1.0.0/16:443"). Empty entries are skipped; entries may also be
// comma-separated.
func Parse(entries []string) (*Policy, error) {
	p := &Policy{}
	for _, e := range entries {
		for _, part := range strings.Split(e, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			r, err := parseRule(part)
			if err != nil {
				return nil, err
			}
			p.rules = append(p.rules, r)
		}
	}
	return p, nil
}

func parseRule(s string) (rule, error) {
	r := rule{text: s}
	host, port, hasPort, err := splitPort(s)
	if err != nil {
		return r, err
	}
	if hasPort {
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil || n == 0 {
			return r, fmt.Errorf("allowed target %q: bad port %q", s, port)
		}
		r.port = uint16(n)
	}
	if strings.Contains(host, "/") {
		pfx, err := netip.ParsePrefix(host)
		if err != nil {
			return r, fmt.Errorf("allowed target %q: %w", s, err)
		}
		r.prefix = unmapPrefix(pfx).Masked()
		return r, nil
	}
	if a, err := netip.ParseAddr(host); err == nil {
		a = plain(a)
		r.prefix = netip.PrefixFrom(a, a.BitLen())
		return r, nil
	}
	name := strings.ToLower(strings.TrimSuffix(host, "."))
	if !validName(strings.TrimPrefix(name, "*.")) {
		return r, fmt.Errorf("allowed target %q: not a CIDR, an address or a host name", s)
	}
	r.host = name
	return r, nil
}

// splitPort separates an entry's optional port: "[v6]:PORT", "[v6/n]:PORT",
// "v4/n:PORT", "name:PORT", "v4:PORT"; a bare v6 address or CIDR has none.
// hasPort tells a colon with an empty port ("name:"), an error, from none.
func splitPort(s string) (host, port string, hasPort bool, err error) {
	if rest, ok := strings.CutPrefix(s, "["); ok {
		host, after, ok := strings.Cut(rest, "]")
		if !ok || after != "" && !strings.HasPrefix(after, ":") {
			return "", "", false, fmt.Errorf("allowed target %q: want [ADDRESS]:PORT", s)
		}
		if _, err := netip.ParseAddr(host); err != nil && !strings.Contains(host, "/") {
			return "", "", false, fmt.Errorf("allowed target %q: only an IPv6 address or CIDR goes in brackets", s)
		}
		port, hasPort = strings.CutPrefix(after, ":")
		return host, port, hasPort, nil
	}
	if strings.Count(s, ":") == 1 {
		host, port, _ = strings.Cut(s, ":")
		return host, port, true, nil
	}
	return s, "", false, nil
}

// plain is a without what would keep it out of a prefix: an IPv4-mapped
// IPv6 address is its IPv4 address; an IPv6 zone is dropped (a zoned
// address is in no netip.Prefix, so fe80::1%eth0 would not be link-local).
func plain(a netip.Addr) netip.Addr {
	return a.Unmap().WithZone("")
}

// unmapPrefix makes an IPv4-mapped IPv6 range ("::ffff:10.0.0.0/104") the
// IPv4 range it stands for: addresses are compared unmapped.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p
}

func validName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	// No top-level domain is all digits (RFC 3696 section 2): "256.1.1.1"
	// or "10.0.0" is a mistyped address, not a name.
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return false
	}
	for _, label := range labels {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// Entries returns the policy's rules as Parse reads them, so that it can be
// sent to workers. A narrowed policy's own rules only.
func (p *Policy) Entries() []string {
	if p == nil {
		return nil
	}
	out := make([]string, len(p.rules))
	for i, r := range p.rules {
		out[i] = r.text
	}
	return out
}

// Narrow returns a policy that allows what both allow. A nil side allows
// everything, so it leaves the other unchanged.
func Narrow(p, q *Policy) *Policy {
	switch {
	case p == nil:
		return q
	case q == nil:
		return p
	}
	n := *p
	if n.also != nil {
		n.also = Narrow(n.also, q)
	} else {
		n.also = q
	}
	return &n
}

// BlockedError is a connection the policy refused.
type BlockedError struct {
	Host   string         // the name dialled ("" when an address was)
	Addr   netip.AddrPort // the address it resolved to
	Reason string
}

func (e *BlockedError) Error() string {
	target := e.Addr.String()
	switch {
	case !e.Addr.IsValid():
		target = e.Host
	case e.Host != "" && e.Host != e.Addr.Addr().String():
		target = fmt.Sprintf("%s (%s)", e.Host, e.Addr)
	}
	return fmt.Sprintf("target %s not allowed: %s", target, e.Reason)
}

// IsBlocked reports whether err is, or wraps, a refusal by the policy.
func IsBlocked(err error) bool {
	var b *BlockedError
	return errors.As(err, &b)
}

// Allow checks one connection: to addr, reached by the name host ("" when
// the address was given; an address given as host counts as none, so that
// no name rule matches an IP literal).
func (p *Policy) Allow(host string, addr netip.AddrPort) error {
	if p == nil {
		return nil
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if _, err := netip.ParseAddr(host); err == nil {
		host = ""
	}
	addr = netip.AddrPortFrom(plain(addr.Addr()), addr.Port())
	if err := p.allowOwn(host, addr); err != nil {
		return err
	}
	return p.also.Allow(host, addr)
}

func (p *Policy) allowOwn(host string, addr netip.AddrPort) error {
	a, port := addr.Addr(), addr.Port()
	for _, r := range p.rules {
		if r.prefix.IsValid() && r.prefix.Contains(a) && (r.port == 0 || r.port == port) {
			return nil
		}
	}
	if class := Special(a); class != "" {
		return &BlockedError{Host: host, Addr: addr, Reason: class + " addresses are refused unless a CIDR rule (--allow-target) names them"}
	}
	for _, r := range p.rules {
		if r.host != "" && matchHost(r.host, host) && (r.port == 0 || r.port == port) {
			return nil
		}
	}
	return &BlockedError{Host: host, Addr: addr, Reason: "not in the allowed targets (--allow-target)"}
}

func matchHost(rule, host string) bool {
	if suffix, ok := strings.CutPrefix(rule, "*."); ok {
		return strings.HasSuffix(host, "."+suffix)
	}
	return rule == host
}

// Control returns a net.Dialer Control hook that refuses connections the
// policy does not allow; host is the name being dialled ("" for an
// address). It runs on the resolved address, before the connect.
func (p *Policy) Control(host string) func(network, address string, c syscall.RawConn) error {
	return func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return &BlockedError{Host: host, Reason: fmt.Sprintf("cannot read the address %q", address)}
		}
		return p.Allow(host, ap)
	}
}

// DialContext wraps a dialer so that every connection it makes is checked;
// for net/http's Transport.DialContext. The dialer's own Control or
// ControlContext hook still runs, after the check.
func (p *Policy) DialContext(d net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		dd := d
		// net.Dialer ignores Control when ControlContext is set: the check
		// goes in ControlContext, so that a hook of the caller's cannot
		// displace it.
		check, prev, prevCtx := p.Control(host), d.Control, d.ControlContext
		dd.Control = nil
		dd.ControlContext = func(ctx context.Context, network, address string, c syscall.RawConn) error {
			if err := check(network, address, c); err != nil {
				return err
			}
			switch {
			case prevCtx != nil:
				return prevCtx(ctx, network, address, c)
			case prev != nil:
				return prev(network, address, c)
			}
			return nil
		}
		return dd.DialContext(ctx, network, addr)
	}
}
