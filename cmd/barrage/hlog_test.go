package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/barrage/barrage/api/client"
)

// TestWriteHlog fetches latency.hlog from a real HTTP server: a whole log
// lands under its name; a run with no data writes nothing and is no error;
// a log cut short by the server is an error and leaves no file behind.
func TestWriteHlog(t *testing.T) {
	const log = "#[Histogram log format version 1.3]\n\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n0.000,1.000,3.001,HISTFAAAACZ42pJpmSzMwMDAzAABMJoRRLB+fchg/wEisF2dCRAAAP//XYYFOA==\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/runs/whole/hlog":
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = w.Write([]byte(log))
		case "/runs/empty/hlog":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusConflict)
			_, _ = w.Write([]byte(`{"error": {"code": "no_data", "message": "run empty has no latency data yet"}}`))
		case "/runs/cut/hlog":
			_, _ = w.Write([]byte(log))
			w.(http.Flusher).Flush()
			conn, _, err := http.NewResponseController(w).Hijack() // as the API's cutShort does
			if err == nil {
				_ = conn.Close()
			}
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	c, err := client.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		run      string
		wantPath bool
		wantErr  string
	}{
		{run: "whole", wantPath: true},
		{run: "empty"},
		{run: "cut", wantErr: "unexpected EOF"},
		{run: "gone", wantErr: "404"},
	}
	for _, tt := range tests {
		t.Run(tt.run, func(t *testing.T) {
			dir := t.TempDir()
			path, err := writeHlog(t.Context(), c, tt.run, dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			left, _ := os.ReadDir(dir)
			if !tt.wantPath {
				if path != "" || len(left) != 0 {
					t.Fatalf("wrote %q; the folder holds %d files", path, len(left))
				}
				return
			}
			b, err := os.ReadFile(path)
			if err != nil || string(b) != log || path != filepath.Join(dir, "latency.hlog") || len(left) != 1 {
				t.Fatalf("wrote %q (%v): %q; the folder holds %d files", path, err, b, len(left))
			}
		})
	}
}
