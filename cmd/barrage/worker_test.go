package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWorkerRefusesABadSpoolDir: a worker whose spool folder is missing,
// a file or read-only exits 2 at once, before it registers with anyone.
func TestWorkerRefusesABadSpoolDir(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	readOnly := filepath.Join(dir, "ro")
	if err := os.Mkdir(readOnly, 0o555); err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		filepath.Join(dir, "missing"): "no such file or directory",
		file:                          "not a directory",
	}
	if os.Geteuid() != 0 { // root writes anywhere
		cases[readOnly] = "not writable"
	}
	for spool, want := range cases {
		err := checkSpoolDir(spool)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "--spool-dir") {
			t.Errorf("spool dir %s: %v, want an error naming --spool-dir and %q", spool, err, want)
		}
		// The whole command: exit 2, nothing started (the server named
		// does not exist).
		if code := realMain([]string{"worker", "--server", "http://127.0.0.1:1", "--temporal", "127.0.0.1:1", "--spool-dir", spool}); code != 2 {
			t.Errorf("barrage worker --spool-dir %s exited %d, want 2", spool, code)
		}
	}
	if err := checkSpoolDir(dir); err != nil {
		t.Errorf("a writable folder: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 { // file and ro
		t.Errorf("the check left files behind: %v", entries)
	}
	if err := checkSpoolDir(""); err != nil {
		t.Errorf("the default spool folder: %v", err)
	}
}

// TestRefusedRequestsExitTwo: `barrage scenarios push --id UNKNOWN` and
// `barrage runs get UNKNOWN` are bad input (exit 2) when the server refuses
// them; a server that fails stays exit 1.
func TestRefusedRequestsExitTwo(t *testing.T) {
	status := http.StatusNotFound
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprint(w, `{"error":{"code":"not_found","message":"no such thing"}}`)
	}))
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(file, []byte("name: s\nvirtual_users: 1\nduration_seconds: 1\nsteps:\n  - {name: a, url_template: /a}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"scenarios", "push", file, "--id", "UNKNOWN", "--server", srv.URL},
		{"runs", "get", "UNKNOWN", "--server", srv.URL},
	} {
		status = http.StatusNotFound
		if code := realMain(args); code != 2 {
			t.Errorf("%v refused with 404: exit %d, want 2", args, code)
		}
		status = http.StatusInternalServerError
		if code := realMain(args); code != 1 {
			t.Errorf("%v failed with 500: exit %d, want 1", args, code)
		}
	}
}
