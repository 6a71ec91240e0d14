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
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/barrage/barrage/bench/benchdb"
	"github.com/barrage/barrage/bench/synth"
	"github.com/barrage/barrage/internal/fold"
	"github.com/barrage/barrage/internal/hist"
	"github.com/barrage/barrage/internal/scenario"
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
	workers, minutes := envInt("WORKERS", 100), envInt("MINUTES", 60)
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

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
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
	sizes, err := populate(ctx, dsn, workers, minutes)
	if err != nil {
		return err
	}
	progress("%s: stored %d intervals × %d workers in %s: raw snapshots %.1f MB, folded intervals %.1f MB (per run-hour: %.1f MB raw, %.1f MB folded)",
		storeName, minutes*60, workers, time.Since(began).Round(time.Second), sizes.raw/1e6, sizes.folded/1e6,
		sizes.raw/1e6*60/float64(minutes), sizes.folded/1e6*60/float64(minutes))
	cmd := exec.Command(os.Args[0])
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
		workers, steps, storeName, sizes.raw/1e6*60/float64(minutes), sizes.folded/1e6*60/float64(minutes))
	fmt.Printf("report_bench workers=%d steps=%d minutes=%d store=%s seconds=%.2f rss_mb=%.0f\n",
		workers, steps, minutes, storeName, secs, rss)
	return nil
}

type sizes struct{ raw, folded float64 }

// populate stores the run: scenario, run, every snapshot and every folded
// interval, then finishes the run.
func populate(ctx context.Context, dsn string, workers, minutes int) (sizes, error) {
	var sz sizes
	st, err := store.Open(ctx, dsn)
	if err != nil {
		return sz, err
	}
	defer st.Close()
	r, err := createRun(ctx, st, workers, minutes)
	if err != nil {
		return sz, err
	}
	pool, err := synth.NewPool(synth.PoolSize, steps)
	if err != nil {
		return sz, err
	}
	var f fold.Folder
	snaps := make([]store.Snapshot, workers)
	for k := range int64(minutes * 60) {
		start, end := fold.Bounds(r, k)
		for w := range workers {
			h := hist.Snapshot{RunID: r.ID, Worker: fmt.Sprintf("w-%d", w), Shard: uint32(w), Attempt: 1,
				Seq: uint64(k + 1), Start: start, End: end, ActiveVUs: 10, TargetVUs: 10}
			data, err := pool.Encode(nil, &h, int(k)+w)
			if err != nil {
				return sz, err
			}
			snaps[w] = store.Snapshot{RunID: r.ID, Shard: w, Attempt: 1, Seq: k + 1, Interval: k, Worker: h.Worker, Data: data, ReceivedAt: end}
			sz.raw += float64(len(data))
		}
		if _, err := st.PutSnapshots(ctx, snaps); err != nil {
			return sz, err
		}
		row, _, err := f.Interval(r, k, snaps)
		if err != nil {
			return sz, err
		}
		row.FoldedAt = end
		if err := st.PutInterval(ctx, row); err != nil {
			return sz, err
		}
		sz.folded += float64(len(row.Data) + len(row.Summary))
	}
	ended := r.Epoch.Add(time.Duration(minutes) * time.Minute)
	return sz, st.FinishRun(ctx, r.ID, store.StatusCompleted, "", ended)
}

func createRun(ctx context.Context, st store.Store, workers, minutes int) (*store.Run, error) {
	doc := fmt.Sprintf(`{"name": "report bench", "virtual_users": %d, "duration_seconds": %d, "steps": [`, 10*workers, 60*minutes)
	for i := range steps {
		if i > 0 {
			doc += ","
		}
		doc += fmt.Sprintf(`{"name": "step %d", "url_template": "/s%d"}`, i, i)
	}
	doc += `], "thresholds": ["p95 < 300ms", "error_rate < 2%"]}`
	sc, err := scenario.ParseJSON([]byte(doc))
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	body, err := sc.JSON()
	if err != nil {
		return nil, err
	}
	if err := st.CreateScenario(ctx, &store.Scenario{ID: "report-bench", Name: sc.Name, Document: body}); err != nil {
		return nil, err
	}
	epoch := time.Now().Add(-time.Duration(minutes) * time.Minute).Truncate(time.Second)
	r := &store.Run{ID: runID, ScenarioID: "report-bench", Scenario: body, TargetBaseURL: "http://127.0.0.1:9",
		WorkerCount: workers, WorkflowID: runID, Token: "bench", IntervalMS: 1000, CreatedAt: epoch}
	if err := st.CreateRun(ctx, r); err != nil {
		return nil, err
	}
	if err := st.StartRun(ctx, r.ID, epoch, 1000, epoch); err != nil {
		return nil, err
	}
	return st.GetRun(ctx, r.ID)
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
	rep, err := fold.BuildReport(ctx, st, runID, nil)
	if err != nil {
		return err
	}
	body, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	if err := st.PutReport(ctx, runID, body); err != nil {
		return err
	}
	fmt.Printf("report of %d series points, %d requests, p99 %.1f ms, %d KB, built in %s",
		len(rep.Series), rep.Totals.Requests, rep.LatencyMS.P99, len(body)>>10, time.Since(began).Round(time.Millisecond))
	return nil
}
