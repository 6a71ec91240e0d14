package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apiclient "github.com/barrage/barrage/api/client"
	"github.com/barrage/barrage/internal/tlstest"
)

// TestServerTLS: with a certificate, the API serves HTTPS only: a client
// trusting the CA gets /healthz, one with the system's roots fails to
// verify, plain HTTP and TLS 1.1 are refused; the process's own clients
// (Ready, local workers) trust its certificate although it names a host
// they do not dial.
func TestServerTLS(t *testing.T) {
	ca := tlstest.NewCA(t)
	certFile, keyFile := ca.Issue(t, "server", "127.0.0.1")
	apiTLS, err := LoadServerTLS(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := Start(ctx, Config{
		Listen: "127.0.0.1:0", DB: "sqlite::memory:", TemporalListen: "127.0.0.1:0",
		NoAuth: true, LocalWorkers: 1, TLS: apiTLS,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if !strings.HasPrefix(srv.URL, "https://") {
		t.Fatalf("URL %s, want https://…", srv.URL)
	}
	if err := srv.Ready(ctx); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	addr := strings.TrimPrefix(srv.URL, "https://")

	trust, err := LoadCA(ca.File)
	if err != nil {
		t.Fatal(err)
	}
	c, err := apiclient.NewTLS(srv.URL, trust)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Health(ctx); err != nil {
		t.Errorf("health with the CA trusted: %v", err)
	}

	system, err := apiclient.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	var unknown x509.UnknownAuthorityError
	if err := system.Health(ctx); !errors.As(err, &unknown) {
		t.Errorf("health with the system's roots: %v, want an unknown authority", err)
	}

	resp, err := http.Get("http://" + addr + "/healthz")
	if err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("plain HTTP to the TLS port: %d %s, want 400", resp.StatusCode, body)
		}
	}

	old := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: trust.RootCAs, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11,
	}}}
	if _, err := old.Get(srv.URL + "/healthz"); err == nil {
		t.Error("TLS 1.1 accepted, want at least 1.2")
	}
}

// TestServerTLSRefusesEmbeddedTemporalTLS: the embedded Temporal listens
// in plaintext.
func TestServerTLSRefusesEmbeddedTemporalTLS(t *testing.T) {
	_, err := Start(context.Background(), Config{Listen: "127.0.0.1:0", DB: "sqlite::memory:", NoAuth: true, TemporalTLS: &tls.Config{}})
	if err == nil || !strings.Contains(err.Error(), "--temporal-tls-*") {
		t.Fatalf("Start: %v, want --temporal-tls-* refused", err)
	}
}

// TestPinned: the process's own client trusts exactly its certificate,
// whatever host it names and whoever signed it.
func TestPinned(t *testing.T) {
	ca := tlstest.NewCA(t)
	own, err := LoadServerTLS(ca.Issue(t, "own", "barrage.test"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := LoadServerTLS(ca.Issue(t, "other", "127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	serve := func(cfg *tls.Config) string {
		ts := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		ts.TLS = cfg
		ts.StartTLS()
		t.Cleanup(ts.Close)
		return ts.URL
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: pinned(own)}}
	resp, err := client.Get(serve(own))
	if err != nil {
		t.Fatalf("own certificate: %v", err)
	}
	resp.Body.Close()
	if _, err := client.Get(serve(other)); err == nil || !strings.Contains(err.Error(), "other than its own") {
		t.Errorf("another certificate, same CA: %v, want refused", err)
	}
}

// TestTemporalTLSConfig: the TLS configuration of a Temporal connection
// from the files of the --temporal-tls-* flags.
func TestTemporalTLSConfig(t *testing.T) {
	ca := tlstest.NewCA(t)
	cert, key := ca.Issue(t, "client", "barrage-worker")
	_, otherKey := ca.Issue(t, "other", "x")
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	tests := []struct {
		name     string
		in       TemporalTLS
		wantNil  bool
		wantCert bool
		wantCA   bool
		errHas   []string
	}{
		{name: "none: plaintext", in: TemporalTLS{}, wantNil: true},
		{name: "mTLS with a private CA", in: TemporalTLS{CertFile: cert, KeyFile: key, CAFile: ca.File, ServerName: "temporal.test"}, wantCert: true, wantCA: true},
		{name: "server name alone: TLS with the system's roots", in: TemporalTLS{ServerName: "temporal.test"}},
		{name: "CA alone: TLS without a client certificate", in: TemporalTLS{CAFile: ca.File}, wantCA: true},
		{name: "cert without key", in: TemporalTLS{CertFile: cert}, errHas: []string{"--temporal-tls-key"}},
		{name: "key without cert", in: TemporalTLS{KeyFile: key}, errHas: []string{"--temporal-tls-cert"}},
		{name: "missing certificate", in: TemporalTLS{CertFile: missing, KeyFile: key}, errHas: []string{missing}},
		{name: "missing key", in: TemporalTLS{CertFile: cert, KeyFile: missing}, errHas: []string{missing}},
		{name: "certificate not PEM", in: TemporalTLS{CertFile: notPEM, KeyFile: key}, errHas: []string{notPEM}},
		{name: "key of another certificate", in: TemporalTLS{CertFile: cert, KeyFile: otherKey}, errHas: []string{cert, otherKey}},
		{name: "missing CA", in: TemporalTLS{CAFile: missing}, errHas: []string{missing}},
		{name: "CA not PEM", in: TemporalTLS{CAFile: notPEM}, errHas: []string{notPEM, "no PEM certificate"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.in.Config()
			if len(tt.errHas) > 0 {
				if err == nil {
					t.Fatal("no error")
				}
				for _, s := range tt.errHas {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not name %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (got == nil) != tt.wantNil {
				t.Fatalf("config %v, want nil: %v", got, tt.wantNil)
			}
			if got == nil {
				return
			}
			if got.MinVersion != tls.VersionTLS12 || got.ServerName != tt.in.ServerName {
				t.Errorf("MinVersion %x, ServerName %q", got.MinVersion, got.ServerName)
			}
			if (len(got.Certificates) == 1) != tt.wantCert {
				t.Errorf("%d client certificates, want one: %v", len(got.Certificates), tt.wantCert)
			}
			if (got.RootCAs != nil) != tt.wantCA {
				t.Errorf("RootCAs %v, want the CA: %v", got.RootCAs, tt.wantCA)
			}
			if tt.wantCert && tt.wantCA {
				leaf, err := x509.ParseCertificate(got.Certificates[0].Certificate[0])
				if err != nil {
					t.Fatal(err)
				}
				if _, err := leaf.Verify(x509.VerifyOptions{Roots: got.RootCAs, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
					t.Errorf("client certificate does not verify under the CA: %v", err)
				}
			}
		})
	}
}

// TestLoadErrorsNameTheFile: the API's and a client's files.
func TestLoadErrorsNameTheFile(t *testing.T) {
	ca := tlstest.NewCA(t)
	cert, key := ca.Issue(t, "server", "127.0.0.1")
	missing := filepath.Join(t.TempDir(), "missing.pem")
	if _, err := LoadServerTLS(missing, key); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing certificate: %v", err)
	}
	if _, err := LoadServerTLS(cert, missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing key: %v", err)
	}
	if _, err := LoadServerTLS(key, cert); err == nil || !strings.Contains(err.Error(), key) {
		t.Errorf("certificate and key swapped: %v", err)
	}
	if _, err := LoadCA(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing CA: %v", err)
	}
	if c, err := LoadCA(""); c != nil || err != nil {
		t.Errorf("no CA: %v, %v; want nil (the system's roots)", c, err)
	}
}

// TestSafeByDefault: a server with tokens needs a fleet token, and opening
// the API without tokens is for loopback only.
func TestSafeByDefault(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Listen: "127.0.0.1:0", DB: "sqlite::memory:"}, "--fleet-token is required"},
		{Config{Listen: "0.0.0.0:0", DB: "sqlite::memory:", NoAuth: true}, "only when the API listens on loopback"},
		{Config{Listen: ":0", DB: "sqlite::memory:", NoAuth: true}, "only when the API listens on loopback"},
	} {
		if _, err := Start(context.Background(), tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Start(%+v): %v, want %q", tc.cfg, err, tc.want)
		}
	}
}
