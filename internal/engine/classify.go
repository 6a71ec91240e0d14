package engine

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"

	"github.com/barrage/barrage/internal/hist"
	"github.com/barrage/barrage/internal/netpolicy"
)

// classify maps a transport error to the class reports count it under.
func classify(err error) hist.ErrorClass {
	var (
		dnsErr    *net.DNSError
		netErr    net.Error
		recordErr tls.RecordHeaderError
		alertErr  tls.AlertError
		verifyErr *tls.CertificateVerificationError
		unknownCA x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		certErr   x509.CertificateInvalidError
	)
	switch {
	case err == nil:
		return hist.ClassNone
	case netpolicy.IsBlocked(err): // first: it is wrapped in errors the cases below could match
		return hist.ClassBlocked
	case errors.As(err, &dnsErr):
		return hist.ClassDNS
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &netErr) && netErr.Timeout():
		return hist.ClassTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return hist.ClassRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNABORTED),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return hist.ClassReset
	case errors.As(err, &recordErr), errors.As(err, &alertErr), errors.As(err, &verifyErr),
		errors.As(err, &unknownCA), errors.As(err, &hostErr), errors.As(err, &certErr):
		return hist.ClassTLS
	}
	return hist.ClassOther
}

// MaxBlockedHosts bounds the hosts a shard reports as refused: a
// templated host or a target answering with redirects to ever new
// addresses must not turn into as many events.
const MaxBlockedHosts = 16

// noteBlocked calls Config.Blocked the first time a connection to the host
// of addr ("host:port") is refused, for the first MaxBlockedHosts hosts;
// then once more with host "" to say that further hosts go unreported.
func (e *Engine) noteBlocked(addr string, err error) {
	if e.cfg.Blocked == nil {
		return
	}
	host, _, splitErr := net.SplitHostPort(addr)
	if splitErr != nil {
		host = addr
	}
	if _, seen := e.blocked.Load(host); seen {
		return
	}
	switch n := e.blockedHosts.Add(1); {
	case n > MaxBlockedHosts+1:
		return
	case n == MaxBlockedHosts+1:
		e.cfg.Blocked("", fmt.Errorf("more than %d hosts refused by the target policy; the others are not reported", MaxBlockedHosts))
		return
	}
	if _, seen := e.blocked.LoadOrStore(host, struct{}{}); seen {
		return
	}
	var b *netpolicy.BlockedError
	if errors.As(err, &b) {
		err = b
	}
	e.cfg.Blocked(host, err)
}

// statusClass is the error class of an HTTP status, ClassNone for success.
func statusClass(status int) hist.ErrorClass {
	switch {
	case status >= 500:
		return hist.ClassHTTP5xx
	case status >= 400:
		return hist.ClassHTTP4xx
	}
	return hist.ClassNone
}
