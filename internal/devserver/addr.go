package devserver

import (
	"fmt"
	"net"
	"strconv"
)

const loopback = "127.0.0.1"

// endpoint is an address to bind and the address to dial it by (they differ
// when binding to all interfaces).
type endpoint struct {
	bindIP string
	port   int
}

func (e endpoint) bind() string { return net.JoinHostPort(e.bindIP, strconv.Itoa(e.port)) }

func (e endpoint) dial() string {
	host := e.bindIP
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = loopback
	}
	return net.JoinHostPort(host, strconv.Itoa(e.port))
}

// resolveListen parses a "host:port" option into an endpoint whose port is
// free right now. Temporal binds by IP, so the host must be an IP literal or
// "localhost"; an empty host means loopback. Port 0 picks a free port.
func resolveListen(addr string) (endpoint, error) {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return endpoint{}, fmt.Errorf("parse address %q: %w", addr, err)
	}
	switch host {
	case "", "localhost":
		host = loopback
	default:
		if net.ParseIP(host) == nil {
			return endpoint{}, fmt.Errorf("address %q: host must be an IP address or localhost", addr)
		}
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return endpoint{}, fmt.Errorf("address %q: invalid port", addr)
	}
	if port == 0 {
		port, err = freePort(host)
		if err != nil {
			return endpoint{}, err
		}
		return endpoint{bindIP: host, port: port}, nil
	}
	e := endpoint{bindIP: host, port: port}
	if err := checkFree(e.bind()); err != nil {
		return endpoint{}, err
	}
	return e, nil
}

// freePort asks the kernel for a free port on host and releases it at once,
// for Temporal (which binds its listeners itself) to take.
func freePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("pick a free port on %s: %w", host, err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("release port %d: %w", port, err)
	}
	return port, nil
}

// checkFree fails with a clear error when addr is already taken; Temporal
// would otherwise fail deep inside its startup.
func checkFree(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("address %s is not available: %w", addr, err)
	}
	return l.Close()
}
