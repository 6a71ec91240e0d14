// Command report (make bench-report) measures how long building a long
// run's report takes, and how much memory: it stores a run of WORKERS
// workers × 5 steps lasting MINUTES as the server would have left it —
// every worker's snapshot of every interval, and every interval folded —
// then builds, encodes and stores its report in a child process, as the
// BuildReport activity does, and reads that process's time and peak RSS.
//
// Environment: WORKERS (default 100), MINUTES (default 60), STORE (sqlite
// or postgres; by default sqlite, then postgres too when BARRAGE_TEST_PG
// holds a database URL). The last line, per store:
//
//	report_bench workers=100 steps=5 minutes=60 store=sqlite seconds=S rss_mb=M
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/barrage/barrage/bench/benchdb"
	"github.com/barrage/barrage/bench/storedrun"
	"github.com/barrage/barrage/internal/store"
)

const (
	steps = 5
	runID = "report-bench"
	// childEnv marks the child process that builds the report.
	childEnv = "BARRAGE_REPORT_BENCH_DSN"
)

func main() {
	if dsn := os.Getenv(childEnv); dsn != "" {
		if err := build(dsn); err != nil {
			fmt.Fprintln(os.Stderr, "report bench (build):", err)
			os.Exit(1)
		}
		return
	}
	workers, minutes := storedrun.EnvInt("WORKERS", 100), storedrun.EnvInt("MINUTES", 60)
	stores := []string{"sqlite"}
	pg := os.Getenv("BARRAGE_TEST_PG")
	switch s := os.Getenv("STORE"); {
	case s != "":
		stores = []string{s}
	case pg != "":
		stores = append(stores, "postgres")
	}
	for _, name := range stores {
		if err := bench(name, pg, workers, minutes); err != nil {
			fmt.Fprintf(os.Stderr, "report bench (%s): %v\n", name, err)
			os.Exit(1)
		}
	}
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05.000")+" report: "+format+"\n", args...)
}

func bench(storeName, pgBase string, workers, minutes int) error {
	ctx := context.Background()
	var dsn string
	switch storeName {
	case "sqlite":
		dir, err := os.MkdirTemp("", "barrage-report-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		dsn = "sqlite:" + filepath.Join(dir, "barrage.db")
	case "postgres":
		if pgBase == "" {
			return fmt.Errorf("STORE=postgres needs BARRAGE_TEST_PG")
		}
		var drop func()
		var err error
		if dsn, drop, err = benchdb.Fresh(ctx, pgBase, "barrage_report", progress); err != nil {
			return err
		}
		defer drop()
	default:
		return fmt.Errorf("STORE=%s: want sqlite or postgres", storeName)
	}
	began := time.Now()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		return err
	}
	sizes, err := storedrun.Populate(ctx, st, storedrun.Shape{ID: runID, Workers: workers, Minutes: minutes, Steps: steps})
	if cerr := st.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close the store: %w", cerr)
	}
	if err != nil {
		return err
	}
	progress("%s: stored %d intervals × %d workers in %s: raw snapshots %.1f MB, folded intervals %.1f MB (per run-hour: %.1f MB raw, %.1f MB folded)",
		storeName, minutes*60, workers, time.Since(began).Round(time.Second), sizes.Raw/1e6, sizes.Folded/1e6,
		sizes.Raw/1e6*60/float64(minutes), sizes.Folded/1e6*60/float64(minutes))
	cmd := exec.Command(os.Args[0]) // #nosec G204 G702 -- re-runs this program as the child that builds the report
	cmd.Env = append(os.Environ(), childEnv+"="+dsn)
	cmd.Stderr = os.Stderr
	began = time.Now()
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("build the report: %w", err)
	}
	secs := time.Since(began).Seconds()
	rss := 0.0
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = float64(ru.Maxrss) / 1024 // KiB on Linux
	}
	progress("%s: %s", storeName, out)
	fmt.Printf("report_storage workers=%d steps=%d store=%s raw_mb_per_hour=%.1f folded_mb_per_hour=%.1f\n",
		workers, steps, storeName, sizes.Raw/1e6*60/float64(minutes), sizes.Folded/1e6*60/float64(minutes))
	fmt.Printf("report_bench workers=%d steps=%d minutes=%d store=%s seconds=%.2f rss_mb=%.0f\n",
		workers, steps, minutes, storeName, secs, rss)
	return nil
}

// build is the child: what the BuildReport activity does.
func build(dsn string) error {
	ctx := context.Background()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer st.Close()
	began := time.Now()
	rep, body, err := storedrun.StoreReport(ctx, st, runID)
	if err != nil {
		return err
	}
	fmt.Printf("report of %d series points, %d requests, p99 %.1f ms, %d KB, built in %s",
		len(rep.Series), rep.Totals.Requests, rep.LatencyMS.P99, len(body)>>10, time.Since(began).Round(time.Millisecond))
	return nil
}
