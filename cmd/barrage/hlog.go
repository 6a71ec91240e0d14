package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"github.com/barrage/barrage/api/client"
)

// saveHlog writes the run's latency.hlog into dir and says where; a log
// that cannot be had is a warning, not a failed run: the report is written.
func saveHlog(ctx context.Context, c *client.Client, runID, dir string) {
	path, err := writeHlog(ctx, c, runID, dir)
	switch {
	case err != nil:
		fmt.Fprintf(os.Stderr, "warning: %v\n", err)
	case path == "":
		fmt.Println("latency.hlog: none (the run recorded no latency)")
	default:
		fmt.Printf("latency.hlog: %s\n", path)
	}
}

// writeHlog writes a run's latency.hlog (HdrHistogram's interval log) into
// dir, through a temporary file so that a log cut short never lands under
// its name, and returns its path ("" when the run recorded no latency).
func writeHlog(ctx context.Context, c *client.Client, runID, dir string) (string, error) {
	f, err := os.CreateTemp(dir, ".latency.hlog-*")
	if err != nil {
		return "", fmt.Errorf("write latency.hlog: %w", err)
	}
	defer func() { _ = os.Remove(f.Name()) }() // fails once renamed
	err = c.Hlog(ctx, runID, f)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if client.StatusOf(err) == http.StatusConflict {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("latency.hlog of run %s: %w", runID, err)
	}
	path := filepath.Join(dir, "latency.hlog")
	if err := os.Chmod(f.Name(), 0o644); err != nil { // #nosec G302 -- readable like report.json beside it
		return "", fmt.Errorf("write latency.hlog: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return "", fmt.Errorf("write latency.hlog: %w", err)
	}
	return path, nil
}
