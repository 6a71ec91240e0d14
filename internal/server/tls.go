package server

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
)

// LoadServerTLS reads the API's certificate (PEM, the chain after the
// leaf) and its private key (PEM) for Config.TLS. Errors name the file.
func LoadServerTLS(certFile, keyFile string) (*tls.Config, error) {
	cert, err := loadKeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}, nil
}

// LoadCA returns a client configuration that trusts the certificates of
// the PEM file caFile instead of the system's roots; nil (the system's
// roots) when caFile is "".
func LoadCA(caFile string) (*tls.Config, error) {
	if caFile == "" {
		return nil, nil
	}
	pool, err := loadPool(caFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}, nil
}

// TemporalTLS names the files of a TLS (or mTLS) connection to an external
// Temporal frontend; the zero value is a plaintext connection.
type TemporalTLS struct {
	CertFile, KeyFile string // the client certificate and its key (mTLS); both or neither
	CAFile            string // the CA that signed the frontend's certificate ("" = the system's roots)
	ServerName        string // the name to verify the frontend's certificate against ("" = the host dialled)
}

// Enabled tells whether any field is set: the connection is then TLS.
func (t TemporalTLS) Enabled() bool { return t != TemporalTLS{} }

// Config loads t's files; nil when t is the zero value.
func (t TemporalTLS) Config() (*tls.Config, error) {
	if !t.Enabled() {
		return nil, nil
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, errors.New("--temporal-tls-cert and --temporal-tls-key go together: give both or neither")
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	if t.CertFile != "" {
		cert, err := loadKeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, err
		}
		c.Certificates = []tls.Certificate{cert}
	}
	if t.CAFile != "" {
		pool, err := loadPool(t.CAFile)
		if err != nil {
			return nil, err
		}
		c.RootCAs = pool
	}
	return c, nil
}

// loadKeyPair reads the files itself, so that every error names its file
// (tls.LoadX509KeyPair's parse errors name none).
func loadKeyPair(certFile, keyFile string) (tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile) // #nosec G304 -- a certificate file the operator names on the command line
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("read certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(keyFile) // #nosec G304 -- a key file the operator names on the command line
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("read key: %w", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("certificate %s with key %s: %w", certFile, keyFile, err)
	}
	return cert, nil
}

func loadPool(caFile string) (*x509.CertPool, error) {
	data, err := os.ReadFile(caFile) // #nosec G304 -- a CA file the operator names on the command line
	if err != nil {
		return nil, fmt.Errorf("read CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("CA %s: no PEM certificate in it", caFile)
	}
	return pool, nil
}

// checkTLS refuses TLS to the embedded Temporal and returns the API's
// configuration: cfg.TLS with at least TLS 1.2 (nil: plain HTTP).
func (s *Server) checkTLS(cfg Config) (*tls.Config, error) {
	if cfg.TemporalTLS != nil && cfg.Temporal == "" {
		return nil, errors.New("--temporal-tls-* are for an external Temporal (--temporal): the embedded one listens in plaintext on loopback")
	}
	if cfg.TLS == nil {
		return nil, nil
	}
	if len(cfg.TLS.Certificates) == 0 || len(cfg.TLS.Certificates[0].Certificate) == 0 {
		return nil, errors.New("API TLS: no certificate")
	}
	c := cfg.TLS.Clone()
	if c.MinVersion < tls.VersionTLS12 {
		c.MinVersion = tls.VersionTLS12
	}
	s.self = pinned(c)
	return c, nil
}

func scheme(apiTLS *tls.Config) string {
	if apiTLS != nil {
		return "https"
	}
	return "http"
}

// serveAPI serves over TLS when srv has a TLSConfig.
func serveAPI(srv *http.Server, ln net.Listener) error {
	if srv.TLSConfig != nil {
		return srv.ServeTLS(ln, "", "")
	}
	return srv.Serve(ln)
}

// pinned is the configuration of this process's own clients of its API
// (local workers, Ready): they trust exactly the certificate it serves.
// The certificate need not name the address they dial (it names the
// public one) nor chain to a root they know, so the usual verification,
// skipped here, gives way to a stricter one: the same bytes.
func pinned(cfg *tls.Config) *tls.Config {
	leaf := cfg.Certificates[0].Certificate[0]
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, // #nosec G402 -- replaced by VerifyConnection below, which accepts only this server's own certificate
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 || !bytes.Equal(cs.PeerCertificates[0].Raw, leaf) {
				return errors.New("the API presented a certificate other than its own")
			}
			return nil
		},
	}
}
