package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
)

// TestExitCodes: each command takes only its own flags; a flag it does not
// have, a value its flag refuses, a missing or unknown command are bad input
// (exit 2); help is exit 0.
func TestExitCodes(t *testing.T) {
	tests := []struct {
		args     []string
		code     int
		inStderr string
	}{
		{args: []string{"runs", "get", "X", "--over", "5s"}, code: 2, inStderr: "barrage runs get: unknown flag: --over"},
		{args: []string{"runs", "list", "--format", "json"}, code: 2, inStderr: "unknown flag: --format"},
		{args: []string{"scenarios", "list", "--id", "x"}, code: 2, inStderr: "unknown flag: --id"},
		{args: []string{"server", "--over", "1s"}, code: 2, inStderr: "unknown flag: --over"},
		{args: []string{"target", "--bogus"}, code: 2, inStderr: "unknown flag: --bogus"},
		{args: []string{"target", "--listen", "0.0.0.0:1"}, code: 2, inStderr: "refusing to listen"},
		{args: []string{"validate", "--x", "f.yaml"}, code: 2, inStderr: "unknown flag: --x"},
		{args: []string{"worker", "--max-vus", "lots"}, code: 2, inStderr: `invalid value "lots" for flag -max-vus`},
		{args: []string{"run"}, code: 2, inStderr: "want one scenario file, got 0 arguments"},
		{args: []string{"runs", "ramp", "R"}, code: 2, inStderr: "want RUN and TARGET, got 1 arguments"},
		{args: []string{"runs", "ramp", "R", "lots"}, code: 2, inStderr: "TARGET must be a number"},
		{args: []string{"compare", "A"}, code: 2, inStderr: "want runs A (base) and B (head), got 1 arguments"},
		{args: []string{"compare", "A", "B", "--format", "yaml"}, code: 2, inStderr: "--format must be text, markdown or json"},
		{args: []string{"runs", "delete"}, code: 2, inStderr: "want RUN, got 0 arguments"},
		{args: []string{}, code: 2, inStderr: "usage: barrage <command>"},
		{args: []string{"nosuch"}, code: 2, inStderr: `unknown command "nosuch"`},
		{args: []string{"runs"}, code: 2, inStderr: "usage: barrage runs <command>"},
		{args: []string{"runs", "lst"}, code: 2, inStderr: `(did you mean "list"?)`},
		{args: []string{"-h"}, code: 0, inStderr: "usage: barrage <command>"},
		{args: []string{"help"}, code: 0, inStderr: "usage: barrage <command>"},
		{args: []string{"runs", "get", "-h"}, code: 0, inStderr: "  -server string"},
		{args: []string{"run", "-help"}, code: 0, inStderr: "usage: barrage run FILE [flags]"},
	}
	for _, tt := range tests {
		code, _, stderr := runMain(t, tt.args...)
		if code != tt.code || !strings.Contains(stderr, tt.inStderr) {
			t.Errorf("barrage %s: exit %d, stderr:\n%s\nwant exit %d and %q", strings.Join(tt.args, " "), code, stderr, tt.code, tt.inStderr)
		}
	}
}

// TestLongDashes: the flag package's single-dash long flags reach cobra
// with two dashes; values, shorthands and what follows "--" stay as given.
func TestLongDashes(t *testing.T) {
	tests := []struct{ in, want string }{
		{in: "run f.yaml -server URL -quiet -tag=a=b -v", want: "run f.yaml --server URL --quiet --tag=a=b --v"},
		{in: "worker -id -v -max-vus 10", want: "worker --id -v --max-vus 10"},
		{in: "worker --id -v", want: "worker --id -v"},
		{in: "runs get X -server URL -- -server", want: "runs get X --server URL -- -server"},
		{in: "runs get X -over 5s", want: "runs get X -over 5s"}, // not its flag: pflag refuses it
		{in: "target -h", want: "target -h"},
		{in: "run -help", want: "run --help"},
		{in: "-h", want: "-h"},
	}
	for _, tt := range tests {
		got := strings.Join(longDashes(newRootCmd(), strings.Fields(tt.in)), " ")
		if got != tt.want {
			t.Errorf("longDashes(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// TestServerFromFlagOrEnv: --server (one dash or two) wins over
// $BARRAGE_SERVER, which wins over the default.
func TestServerFromFlagOrEnv(t *testing.T) {
	var mu sync.Mutex
	var hits []string
	serve := func(name string) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			hits = append(hits, name+" "+r.URL.Path)
			mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"run_id":"X","status":"running"}`)
		}))
	}
	env, flag := serve("env"), serve("flag")
	defer env.Close()
	defer flag.Close()
	t.Setenv("BARRAGE_SERVER", env.URL)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{args: []string{"runs", "get", "X"}, want: "env /runs/X"},
		{args: []string{"runs", "get", "X", "--server", flag.URL}, want: "flag /runs/X"},
		{args: []string{"runs", "get", "-server", flag.URL, "X"}, want: "flag /runs/X"},
		{args: []string{"scenarios", "list"}, want: "env /scenarios"},
	} {
		mu.Lock()
		hits = nil
		mu.Unlock()
		code, _, stderr := runMain(t, tt.args...)
		mu.Lock()
		got := hits
		mu.Unlock()
		if code != 0 || !slices.Equal(got, []string{tt.want}) {
			t.Errorf("barrage %s: exit %d, requests %q, want %q\n%s", strings.Join(tt.args, " "), code, got, tt.want, stderr)
		}
	}
}

// TestEnvBindings: which flags take which variable, and the order of
// precedence, on commands that would start servers if run.
func TestEnvBindings(t *testing.T) {
	tests := []struct {
		args      []string
		flag, env string
		setEnv    string
		want      string
	}{
		{args: []string{"server"}, flag: "fleet-token", env: "BARRAGE_FLEET_TOKEN", setEnv: "from-env", want: "from-env"},
		{args: []string{"worker", "--fleet-token", "from-flag"}, flag: "fleet-token", env: "BARRAGE_FLEET_TOKEN", setEnv: "from-env", want: "from-flag"},
		{args: []string{"worker"}, flag: "fleet-token", env: "BARRAGE_FLEET_TOKEN", setEnv: "", want: ""},
		{args: []string{"runs", "list"}, flag: "server", env: "BARRAGE_SERVER", setEnv: "", want: defaultServer},
		// As before: BARRAGE_SERVER is for the commands that talk to a server.
		{args: []string{"run", "f.yaml"}, flag: "server", env: "", setEnv: "http://elsewhere", want: ""},
		{args: []string{"worker"}, flag: "server", env: "", setEnv: "http://elsewhere", want: "http://127.0.0.1:8480"},
	}
	for _, tt := range tests {
		t.Setenv("BARRAGE_SERVER", tt.setEnv)
		t.Setenv("BARRAGE_FLEET_TOKEN", tt.setEnv)
		c, rest, err := newRootCmd().Find(tt.args)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.ParseFlags(rest); err != nil {
			t.Fatal(err)
		}
		if got := envFor(c, tt.flag); got != tt.env {
			t.Errorf("%v: --%s bound to %q, want %q", tt.args, tt.flag, got, tt.env)
		}
		if err := applyEnv(c); err != nil {
			t.Fatal(err)
		}
		if got := c.Flags().Lookup(tt.flag).Value.String(); got != tt.want {
			t.Errorf("%v with $%s=%q: --%s is %q, want %q", tt.args, tt.env, tt.setEnv, tt.flag, got, tt.want)
		}
	}
}

// TestCLIDocs: docs/cli.md is what the command tree generates now.
func TestCLIDocs(t *testing.T) {
	want := cliReference(newRootCmd())
	got, err := os.ReadFile("../../" + cliDocsPath)
	switch {
	case err != nil:
		t.Errorf("%v; run %s", err, regenerateDocs)
	case !bytes.Equal(got, want):
		t.Errorf("%s is stale: it is not what the commands generate; run %s", cliDocsPath, regenerateDocs)
	}
}

// runMain runs realMain with stdout and stderr captured. Not for parallel
// tests.
func runMain(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	dir := t.TempDir()
	outF, err := os.Create(dir + "/stdout")
	if err != nil {
		t.Fatal(err)
	}
	errF, err := os.Create(dir + "/stderr")
	if err != nil {
		t.Fatal(err)
	}
	savedOut, savedErr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = outF, errF
	func() {
		defer func() { os.Stdout, os.Stderr = savedOut, savedErr }()
		code = realMain(args)
	}()
	outF.Close()
	errF.Close()
	o, _ := os.ReadFile(outF.Name())
	e, _ := os.ReadFile(errF.Name())
	return code, string(o), string(e)
}
