package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/barrage/barrage/internal/scenario"
)

// TestImport: both importers write a scenario that barrage validate
// accepts, on standard output or to --out; bad input is exit 2 with a
// clear message, and writes nothing.
func TestImport(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "demo.yaml")
	code, _, stderr := runMain(t, "import", "har", "../../internal/importer/testdata/har/barrage-demo.har", "--out", out, "--keep-static")
	if code != 0 || !strings.Contains(stderr, "8 steps written to "+out) {
		t.Fatalf("import har: exit %d\n%s", code, stderr)
	}
	if code, stdout, stderr := runMain(t, "validate", out); code != 0 || !strings.Contains(stdout, `"GET /static/site.css"`) {
		t.Fatalf("validate the import: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr := runMain(t, "import", "openapi", "../../internal/importer/testdata/openapi/petstore.yaml", "--all-methods", "--vus", "3", "--name", "pets")
	if code != 0 {
		t.Fatalf("import openapi: exit %d\n%s", code, stderr)
	}
	s, err := scenario.ParseYAML([]byte(stdout))
	if err != nil || s.Name != "pets" || s.VirtualUsers != 3 || len(s.Steps) < 10 {
		t.Fatalf("import openapi wrote %v %+v:\n%s", err, s, stdout)
	}

	bad := filepath.Join(dir, "bad.har")
	if err := os.WriteFile(bad, []byte(`{"log": {"entries": "no"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	notSpec := filepath.Join(dir, "spec.yaml")
	if err := os.WriteFile(notSpec, []byte("name: not a spec\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	never := filepath.Join(dir, "never.yaml")
	tests := []struct {
		args     []string
		inStderr string
	}{
		{args: []string{"import"}, inStderr: "usage: barrage import <command>"},
		{args: []string{"import", "postman", "x.json"}, inStderr: `unknown command "postman"`},
		{args: []string{"import", "har"}, inStderr: "want one HAR file, got 0 arguments"},
		{args: []string{"import", "har", filepath.Join(dir, "missing.har")}, inStderr: "no such file"},
		{args: []string{"import", "har", bad, "--out", never}, inStderr: "not a HAR file"},
		{args: []string{"import", "har", bad, "--all-methods"}, inStderr: "unknown flag: --all-methods"},
		{args: []string{"import", "openapi", notSpec, "--out", never}, inStderr: `no "openapi" (or "swagger") field`},
		{args: []string{"import", "openapi", bad, "--keep-static"}, inStderr: "unknown flag: --keep-static"},
	}
	for _, tt := range tests {
		code, _, stderr := runMain(t, tt.args...)
		if code != exitBadInput || !strings.Contains(stderr, tt.inStderr) {
			t.Errorf("barrage %s: exit %d, stderr:\n%s\nwant exit 2 and %q", strings.Join(tt.args, " "), code, stderr, tt.inStderr)
		}
	}
	if _, err := os.Stat(never); !os.IsNotExist(err) {
		t.Errorf("bad input wrote %s (%v)", never, err)
	}
}
