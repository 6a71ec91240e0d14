package main

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/barrage/barrage/internal/tlstest"
)

// TestTLSFlagErrors: TLS flags that cannot work are bad input, found before
// anything starts; a file's error names it.
func TestTLSFlagErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.pem")
	tests := []struct {
		args     []string
		inStderr string
	}{
		{args: []string{"server", "--tls-cert", "c.pem"}, inStderr: "--tls-cert and --tls-key go together"},
		{args: []string{"server", "--tls-key", "k.pem"}, inStderr: "--tls-cert and --tls-key go together"},
		{args: []string{"server", "--tls-cert", missing, "--tls-key", missing}, inStderr: missing},
		{args: []string{"server", "--temporal-tls-ca", "ca.pem"}, inStderr: "--temporal-tls-* need --temporal"},
		{args: []string{"server", "--temporal", "127.0.0.1:1", "--temporal-tls-cert", "c.pem"}, inStderr: "--temporal-tls-cert and --temporal-tls-key go together"},
		{args: []string{"server", "--temporal", "127.0.0.1:1", "--temporal-tls-ca", missing}, inStderr: missing},
		{args: []string{"worker", "--temporal-tls-key", "k.pem"}, inStderr: "--temporal-tls-cert and --temporal-tls-key go together"},
		{args: []string{"worker", "--temporal-tls-ca", missing}, inStderr: missing},
		{args: []string{"worker", "--ca-file", missing}, inStderr: missing},
		{args: []string{"runs", "list", "--ca-file", missing}, inStderr: missing},
		{args: []string{"run", "../../examples/login-flow.yaml", "--server", "https://127.0.0.1:1", "--ca-file", missing}, inStderr: missing},
	}
	for _, tt := range tests {
		code, _, stderr := runMain(t, tt.args...)
		if code != exitBadInput || !strings.Contains(stderr, tt.inStderr) {
			t.Errorf("barrage %s: exit %d, stderr:\n%s\nwant exit 2 and %q", strings.Join(tt.args, " "), code, stderr, tt.inStderr)
		}
	}
}

// TestCAFile: a client command trusts an https server signed by a private
// CA with --ca-file or $BARRAGE_CA_FILE, and not without.
func TestCAFile(t *testing.T) {
	ca := tlstest.NewCA(t)
	cert, err := tls.LoadX509KeyPair(ca.Issue(t, "server", "127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"run_id":"X","status":"running"}`)
	}))
	ts.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	ts.StartTLS()
	defer ts.Close()
	tests := []struct {
		args     []string
		env      string
		code     int
		inStderr string
	}{
		{args: []string{"runs", "get", "X", "--server", ts.URL, "--ca-file", ca.File}, code: 0},
		{args: []string{"runs", "get", "X", "--server", ts.URL}, env: ca.File, code: 0},
		{args: []string{"runs", "get", "X", "--server", ts.URL}, code: 1, inStderr: "certificate signed by unknown authority"},
	}
	for _, tt := range tests {
		t.Setenv("BARRAGE_CA_FILE", tt.env)
		code, _, stderr := runMain(t, tt.args...)
		if code != tt.code || !strings.Contains(stderr, tt.inStderr) {
			t.Errorf("barrage %s ($BARRAGE_CA_FILE=%q): exit %d, stderr:\n%s\nwant exit %d and %q", strings.Join(tt.args, " "), tt.env, code, stderr, tt.code, tt.inStderr)
		}
	}
}

// TestTLSEnvBindings: the variables of the TLS flags, per command.
func TestTLSEnvBindings(t *testing.T) {
	tests := []struct {
		args      []string
		flag, env string
	}{
		{args: []string{"server"}, flag: "tls-cert", env: "BARRAGE_TLS_CERT"},
		{args: []string{"server"}, flag: "tls-key", env: "BARRAGE_TLS_KEY"},
		{args: []string{"worker"}, flag: "ca-file", env: "BARRAGE_CA_FILE"},
		{args: []string{"run"}, flag: "ca-file", env: "BARRAGE_CA_FILE"},
		{args: []string{"runs", "list"}, flag: "ca-file", env: "BARRAGE_CA_FILE"},
		{args: []string{"scenarios", "push"}, flag: "ca-file", env: "BARRAGE_CA_FILE"},
		{args: []string{"secrets", "list"}, flag: "ca-file", env: "BARRAGE_CA_FILE"},
		{args: []string{"server"}, flag: "temporal-tls-cert", env: "BARRAGE_TEMPORAL_TLS_CERT"},
		{args: []string{"worker"}, flag: "temporal-tls-key", env: "BARRAGE_TEMPORAL_TLS_KEY"},
		{args: []string{"server"}, flag: "temporal-tls-ca", env: "BARRAGE_TEMPORAL_TLS_CA"},
		{args: []string{"worker"}, flag: "temporal-tls-server-name", env: "BARRAGE_TEMPORAL_TLS_SERVER_NAME"},
	}
	for _, tt := range tests {
		c, _, err := newRootCmd().Find(tt.args)
		if err != nil {
			t.Fatal(err)
		}
		if c.Flags().Lookup(tt.flag) == nil {
			t.Errorf("%v has no --%s", tt.args, tt.flag)
		}
		if got := envFor(c, tt.flag); got != tt.env {
			t.Errorf("%v: --%s bound to %q, want %q", tt.args, tt.flag, got, tt.env)
		}
	}
}
