package main

import (
	"crypto/tls"
	"errors"

	"github.com/barrage/barrage/internal/server"
	"github.com/spf13/pflag"
)

// tlsFlags are the TLS flags of barrage server (the API's certificate)
// and barrage worker (the CA of the server's), and of both for an
// external Temporal.
type tlsFlags struct {
	cert, key string
	caFile    string
	temporal  server.TemporalTLS
}

func (t *tlsFlags) addServer(f *pflag.FlagSet) {
	f.StringVar(&t.cert, "tls-cert", "", "serve the API over HTTPS with this certificate (PEM, chain after the leaf); with --tls-key")
	f.StringVar(&t.key, "tls-key", "", "private key (PEM) of --tls-cert")
	t.addTemporal(f)
}

func (t *tlsFlags) addWorker(f *pflag.FlagSet) {
	addCAFlag(f, &t.caFile)
	t.addTemporal(f)
}

func addCAFlag(f *pflag.FlagSet, file *string) {
	f.StringVar(file, "ca-file", "", "trust the CA certificates of this PEM file for an https --server (default: the system's roots)")
}

func (t *tlsFlags) addTemporal(f *pflag.FlagSet) {
	f.StringVar(&t.temporal.CertFile, "temporal-tls-cert", "", "client certificate (PEM) for mTLS to an external Temporal; with --temporal-tls-key (any --temporal-tls-* turns TLS on)")
	f.StringVar(&t.temporal.KeyFile, "temporal-tls-key", "", "private key (PEM) of --temporal-tls-cert")
	f.StringVar(&t.temporal.CAFile, "temporal-tls-ca", "", "CA certificates (PEM) that verify the Temporal frontend (default: the system's roots)")
	f.StringVar(&t.temporal.ServerName, "temporal-tls-server-name", "", "name to verify the Temporal frontend's certificate against, and to send as SNI (default: the host of --temporal)")
}

// applyServer sets cfg's TLS from the flags: files are read now, so that a
// missing or invalid one stops the server before it starts anything.
func (t *tlsFlags) applyServer(cfg *server.Config) error {
	if (t.cert == "") != (t.key == "") {
		return usageError(errors.New("--tls-cert and --tls-key go together: give both or neither"))
	}
	if t.temporal.Enabled() && cfg.Temporal == "" {
		return usageError(errors.New("--temporal-tls-* need --temporal (an external Temporal): the embedded one listens in plaintext on loopback"))
	}
	if t.cert != "" {
		c, err := server.LoadServerTLS(t.cert, t.key)
		if err != nil {
			return &exitError{code: exitBadInput, err: err}
		}
		cfg.TLS = c
	}
	var err error
	cfg.TemporalTLS, err = temporalTLS(t.temporal)
	return err
}

// applyWorker sets cfg's TLS from the flags.
func (t *tlsFlags) applyWorker(cfg *server.NodeConfig) error {
	var err error
	if cfg.ServerTLS, err = clientTLS(t.caFile); err != nil {
		return err
	}
	cfg.TemporalTLS, err = temporalTLS(t.temporal)
	return err
}

func temporalTLS(t server.TemporalTLS) (*tls.Config, error) {
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, usageError(errors.New("--temporal-tls-cert and --temporal-tls-key go together: give both or neither"))
	}
	c, err := t.Config()
	if err != nil {
		return nil, &exitError{code: exitBadInput, err: err}
	}
	return c, nil
}

// clientTLS is what a client of the API trusts: --ca-file's certificates,
// or the system's roots (nil) without it.
func clientTLS(caFile string) (*tls.Config, error) {
	c, err := server.LoadCA(caFile)
	if err != nil {
		return nil, &exitError{code: exitBadInput, err: err}
	}
	return c, nil
}
