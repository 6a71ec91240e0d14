package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/barrage/barrage/api/client"
	"github.com/barrage/barrage/internal/scenario"
	"github.com/barrage/barrage/internal/server"
	"github.com/barrage/barrage/reports"
	"github.com/spf13/cobra"
)

// Exit codes of barrage run, documented in the README.
const (
	exitThresholdFailed = 99
	exitRunFailed       = 98
	exitBadInput        = 2
)

type runConfig struct {
	file     string
	server   string
	target   string
	workers  int
	out      string
	quiet    bool
	junit    string
	tags     tagFlags
	baseline string
	// requireBaseline fails the run's thresholds when a baseline
	// threshold had no baseline run to compare with.
	requireBaseline bool
	elastic         bool
	noElastic       bool
	maxWorkers      int
	verbose         bool
	token           string
	caFile          string
	load            loadFlags
}

// tagFlags collects repeated --tag key=value flags.
type tagFlags map[string]string

func (t tagFlags) String() string { return fmt.Sprint(map[string]string(t)) }

func (t tagFlags) Type() string { return "key=value" }

func (t tagFlags) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("want key=value, got %q", v)
	}
	t[k] = val
	return nil
}

func newRunCmd() *cobra.Command {
	cfg := runConfig{tags: tagFlags{}}
	c := &cobra.Command{
		Use:   "run FILE",
		Short: "run a scenario file and write its report",
		Long: `Runs a scenario, shows live progress every second, prints a summary and writes report.json, report.html
and latency.hlog (its latency as an HdrHistogram interval log, in microseconds).
Without --server it starts the embedded default in this process: a Temporal dev server, SQLite in a
temporary folder, the API and --workers load workers.
Exit codes: 0 every threshold passed, 99 a threshold failed, 98 the run failed or was aborted, 2 bad input.`,
		Args:              wantArgs(1, "one scenario file"),
		ValidArgsFunction: scenarioFiles,
		RunE: func(c *cobra.Command, args []string) error {
			cfg.file = args[0]
			if cfg.workers < 1 || cfg.workers > 1000 {
				return usageError(fmt.Errorf("--workers must be 1..1000, got %d", cfg.workers))
			}
			return runScenario(c.Context(), cfg)
		},
	}
	f := c.Flags()
	f.StringVar(&cfg.server, "server", "", "URL of a Barrage server to run on (default: start everything in this process)")
	addCAFlag(f, &cfg.caFile)
	f.StringVar(&cfg.token, "token", "", "API token for --server (barrage tokens create); better in $BARRAGE_TOKEN than on the command line")
	f.StringVar(&cfg.target, "target", "", "base URL of the system under test; step URLs that are paths are resolved against it")
	f.IntVar(&cfg.workers, "workers", 1, "number of workers (shards) the run is split over")
	f.StringVar(&cfg.out, "out", "", "folder for report.json and report.html (default ./barrage-results/<run-id>/)")
	f.StringVar(&cfg.junit, "junit", "", "also write the report as JUnit XML to this file")
	f.Var(cfg.tags, "tag", "tag the run, key=value (repeatable), e.g. --tag release=v1.4")
	f.StringVar(&cfg.baseline, "baseline", "", "compare with the newest finished run tagged key=value; thresholds like 'p95 < baseline * 1.1' use it")
	f.BoolVar(&cfg.requireBaseline, "require-baseline", false, "fail the thresholds (exit 99) when a baseline threshold has no baseline run to compare with (default: reported as 'no baseline', not failed)")
	f.BoolVar(&cfg.elastic, "elastic", true, "use idle workers that join during the run: each takes a share, the others shed load (the default; see --no-elastic)")
	f.BoolVar(&cfg.noElastic, "no-elastic", false, "keep the run on its first --workers workers: workers that join take no load")
	f.IntVar(&cfg.maxWorkers, "max-workers", 0, "the most workers (shards) the run takes as workers join (default: no cap)")
	cfg.load.add(f)
	f.BoolVar(&cfg.quiet, "quiet", false, "no live progress lines")
	f.BoolVar(&cfg.verbose, "v", false, "log what the embedded server does")
	return c
}

// scenarioFiles completes a scenario file argument.
func scenarioFiles(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return []string{"yaml", "yml", "json"}, cobra.ShellCompDirectiveFilterFileExt
}

// runScenario runs the scenario on a server: the one given, or one started
// in this process.
func runScenario(ctx context.Context, cfg runConfig) error {
	s, err := scenario.LoadFile(cfg.file)
	if err != nil {
		return &exitError{code: exitBadInput, err: err}
	}
	if err := cfg.load.apply(s); err != nil {
		return &exitError{code: exitBadInput, err: err}
	}
	plan, err := scenario.Compile(s)
	if err == nil {
		err = plan.CheckEnv()
	}
	if err != nil {
		return &exitError{code: exitBadInput, err: err}
	}
	doc, err := s.JSON()
	if err != nil {
		return err
	}
	var tc *tls.Config // the embedded server is plain HTTP
	if cfg.server != "" {
		if tc, err = clientTLS(cfg.caFile); err != nil {
			return err
		}
	}
	serverURL := cfg.server
	if serverURL == "" {
		srv, stop, err := startEmbedded(ctx, cfg)
		if err != nil {
			return err
		}
		defer stop()
		serverURL = srv
	}
	c, err := client.NewTLS(serverURL, tc)
	if err != nil {
		return &exitError{code: exitBadInput, err: err}
	}
	return runOn(ctx, c.WithToken(cfg.token), cfg, plan, doc)
}

// startEmbedded starts the embedded default: Temporal dev server, SQLite in
// a temporary folder, the API and the local workers.
func startEmbedded(ctx context.Context, cfg runConfig) (string, func(), error) {
	dir, err := os.MkdirTemp("", "barrage-run-")
	if err != nil {
		return "", nil, err
	}
	level := slog.LevelError
	if cfg.verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	start := time.Now()
	srv, err := server.Start(ctx, server.Config{
		Listen: "127.0.0.1:0", DB: "sqlite:" + filepath.Join(dir, "barrage.db"), TemporalListen: "127.0.0.1:0",
		LocalWorkers: cfg.workers, Logger: log,
		// The user's own machine, like k6 on a laptop: a private API on
		// loopback, and load may go anywhere the user points it.
		NoAuth: true,
	})
	if err != nil {
		_ = os.RemoveAll(dir)
		return "", nil, fmt.Errorf("start the embedded server: %w", err)
	}
	if !cfg.quiet {
		fmt.Printf("barrage: embedded server ready in %s (Temporal %s, API %s)\n", time.Since(start).Round(time.Millisecond), srv.Temporal, srv.URL)
	}
	return srv.URL, func() { srv.Close(); _ = os.RemoveAll(dir) }, nil
}

// runOn stores the scenario, starts the run, follows it live and writes its report.
func runOn(ctx context.Context, c *client.Client, cfg runConfig, plan *scenario.Plan, doc []byte) error {
	bg := context.WithoutCancel(ctx)
	ref, err := c.CreateScenario(bg, doc)
	if err != nil {
		return &exitError{code: exitBadInput, err: fmt.Errorf("store scenario: %w", err)}
	}
	elastic := cfg.elastic && !cfg.noElastic
	run, err := c.StartRun(bg, client.RunRequest{ScenarioID: ref.ScenarioID, TargetBaseURL: cfg.target, WorkerCount: cfg.workers,
		Tags: cfg.tags, Baseline: cfg.baseline, Elastic: &elastic, MaxWorkers: cfg.maxWorkers})
	if err != nil {
		if s := client.StatusOf(err); s >= 400 && s < 500 {
			return &exitError{code: exitBadInput, err: fmt.Errorf("start run: %w", err)}
		}
		return fmt.Errorf("start run: %w", err)
	}
	fmt.Printf("barrage: run %s of %q against %s (%s model, %s, %d worker(s))\n", run.RunID, plan.Name, orNone(cfg.target),
		plan.Profile.Model, plan.Profile.Duration(), cfg.workers)
	fmt.Printf("barrage: live view %s/ui/runs/%s\n", strings.TrimSuffix(c.URL(), "/"), run.RunID)
	if run.TemporalUIURL != "" {
		fmt.Printf("barrage: workflow %s\n", run.TemporalUIURL)
	}
	if run.BaselineRunID != "" {
		fmt.Printf("barrage: baseline %s (%s)\n", run.BaselineRunID, cfg.baseline)
	}
	follow(ctx, c, run.RunID, cfg, plan)
	return finishRun(bg, c, run.RunID, cfg)
}

// follow prints the live metrics until the run ends. A first Ctrl-C aborts
// the run (its partial report is still written); a second one stops waiting.
func follow(ctx context.Context, c *client.Client, runID string, cfg runConfig, plan *scenario.Plan) {
	streamCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	go func() {
		select {
		case <-ctx.Done():
			fmt.Println("\nbarrage: aborting the run (Ctrl-C again to stop waiting)...")
			_ = c.Abort(context.WithoutCancel(ctx), runID, "cli", "interrupted")
			sig := make(chan os.Signal, 1)
			signal.Notify(sig, os.Interrupt)
			defer signal.Stop(sig)
			select {
			case <-sig:
				cancel()
			case <-streamCtx.Done():
			}
		case <-streamCtx.Done():
		}
	}()
	p := newProgress(os.Stdout, cfg.quiet, plan.Profile.Duration())
	lastID := ""
	for streamCtx.Err() == nil {
		ended := false
		err := c.Metrics(streamCtx, runID, lastID, func(ev client.Event) bool {
			lastID = ev.ID
			switch ev.Name {
			case "end":
				ended = true
				return false
			case "status":
				return true
			}
			p.point(ev.Data)
			return true
		})
		if ended || streamCtx.Err() != nil {
			return
		}
		if err != nil {
			time.Sleep(500 * time.Millisecond) // the server restarted, or the network hiccupped: resume
		}
	}
}

// finishRun waits for the run's end, fetches its report and writes it.
func finishRun(ctx context.Context, c *client.Client, runID string, cfg runConfig) error {
	var run *client.Run
	var err error
	for range 600 {
		if run, err = c.GetRun(ctx, runID); err == nil && (run.Status == "completed" || run.Status == "failed" || run.Status == "aborted") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("run %s: %w", runID, err)
	}
	var rep *reports.Report
	for range 100 { // the report is stored just after the run is marked finished
		b, rerr := c.Report(ctx, runID, "json")
		if rerr == nil {
			rep = &reports.Report{}
			if json.Unmarshal(b, rep) == nil && rep.Status == run.Status {
				break
			}
		}
		err = rerr
		time.Sleep(100 * time.Millisecond)
	}
	if rep == nil {
		return fmt.Errorf("report of run %s: %w", runID, err)
	}
	printSummary(os.Stdout, rep)
	if run.Reason != "" {
		fmt.Printf("\n  reason: %s\n", run.Reason)
	}
	rep.TemporalUIURL = run.TemporalUIURL
	path, err := writeReport(cfg.out, rep, baselineOf(ctx, c, rep))
	if err != nil {
		return err
	}
	if cfg.junit != "" {
		b, err := reports.JUnit(rep)
		if err == nil {
			err = os.WriteFile(cfg.junit, b, 0o644) // #nosec G306 -- a report for CI to publish; the umask still applies
		}
		if err != nil {
			return fmt.Errorf("write JUnit report: %w", err)
		}
	}
	fmt.Printf("\nreport.json: %s\nreport: %s\n", filepath.Join(filepath.Dir(path), "report.json"), path)
	saveHlog(ctx, c, runID, filepath.Dir(path))
	switch {
	case rep.Status != "completed":
		return &exitError{code: exitRunFailed, err: fmt.Errorf("run %s %s", runID, rep.Status)}
	case !rep.Passed():
		return &exitError{code: exitThresholdFailed, err: errors.New("thresholds failed")}
	case cfg.requireBaseline && rep.MissingBaseline():
		return &exitError{code: exitThresholdFailed, err: errors.New("no baseline run to compare with, and --require-baseline")}
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "(absolute URLs)"
	}
	return s
}

// writeReport writes report.json and report.html (with baseline, may be
// nil) into dir and returns report.html's absolute path.
func writeReport(dir string, rep, baseline *reports.Report) (string, error) {
	if dir == "" {
		dir = filepath.Join("barrage-results", rep.RunID)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil { // #nosec G301 -- reports are made to be opened and shared; the umask still applies
		return "", fmt.Errorf("create report folder: %w", err)
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return "", fmt.Errorf("encode report: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), append(b, '\n'), 0o644); err != nil { // #nosec G306 -- as the folder
		return "", fmt.Errorf("write report: %w", err)
	}
	doc, err := reports.HTML(rep, baseline)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "report.html")
	if err := os.WriteFile(path, doc, 0o644); err != nil { // #nosec G306 -- as the folder
		return "", fmt.Errorf("write report: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return path, nil
	}
	return abs, nil
}

// baselineOf fetches the report of the run's baseline, for the HTML
// report's comparison (nil: none, or not readable).
func baselineOf(ctx context.Context, c *client.Client, rep *reports.Report) *reports.Report {
	if rep.BaselineRunID == "" {
		return nil
	}
	b, err := c.Report(ctx, rep.BaselineRunID, "json")
	if err != nil {
		return nil
	}
	base, _ := reports.Parse(b)
	return base
}
