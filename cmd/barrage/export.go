package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/barrage/barrage/internal/store"
	"github.com/barrage/barrage/internal/tsdb"
)

// newExportCmd is `barrage export`: push stored runs to VictoriaMetrics,
// e.g. runs made before the server had --victoria-metrics, or to repair
// series after an outage the server did not live through.
func newExportCmd() *cobra.Command {
	var dsn, vmURL string
	var all bool
	c := &cobra.Command{
		Use:   "export --victoria-metrics URL RUN…",
		Short: "(re)export stored runs' series to VictoriaMetrics",
		Long: "Pushes every folded interval of the runs named (or of every finished run, with --all) to VictoriaMetrics,\n" +
			"as `barrage server --victoria-metrics` does while they run: the same series, stamped with the intervals' ends.\n" +
			"Pushing a run again replaces its samples; it reads the store and changes nothing in it.",
		RunE: func(c *cobra.Command, args []string) error {
			if vmURL == "" {
				return usageError(errors.New("--victoria-metrics URL is required"))
			}
			if len(args) == 0 && !all {
				return usageError(errors.New("want RUN… or --all"))
			}
			if len(args) > 0 && all {
				return usageError(errors.New("give RUN… or --all, not both"))
			}
			st, err := openStore(c.Context(), dsn, false)
			if err != nil {
				return err
			}
			defer st.Close()
			x, err := tsdb.New(tsdb.Config{URL: vmURL, Store: st, Log: newLogger(false)})
			if err != nil {
				return usageError(err)
			}
			ids := args
			if all {
				if ids, err = finishedRuns(c, st); err != nil {
					return err
				}
			}
			// Every run is looked up before anything is pushed: a wrong ID
			// changes nothing.
			for _, id := range ids {
				if _, err := st.GetRun(c.Context(), id); errors.Is(err, store.ErrNotFound) {
					return &exitError{code: exitBadInput, err: fmt.Errorf("run %s: not found in %s", id, dsn)}
				} else if err != nil {
					return err
				}
			}
			for _, id := range ids {
				start := time.Now()
				s, err := x.ExportRun(c.Context(), id)
				if err != nil {
					return fmt.Errorf("export run %s: %w", id, err)
				}
				fmt.Fprintf(c.OutOrStdout(), "barrage export: %s: %d samples (%d KiB of text) in %d pushes, %s\n",
					id, s.Samples, s.Bytes>>10, s.Pushes, time.Since(start).Round(time.Millisecond))
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&vmURL, "victoria-metrics", "", "VictoriaMetrics base URL, e.g. http://127.0.0.1:8428")
	f.StringVar(&dsn, "db", "sqlite:./barrage.db", "database: postgres://… or sqlite:PATH")
	f.BoolVar(&all, "all", false, "export every finished run in the database")
	return c
}

func finishedRuns(c *cobra.Command, st store.Store) ([]string, error) {
	var ids []string
	for f := (store.RunFilter{Limit: 1000}); ; {
		runs, err := st.ListRuns(c.Context(), f)
		if err != nil {
			return nil, err
		}
		for _, r := range runs {
			if store.Finished(r.Status) {
				ids = append(ids, r.ID)
			}
		}
		if len(runs) < f.Limit {
			return ids, nil
		}
		f.Before = runs[len(runs)-1].ID
	}
}

// openStore opens the database --db names; a SQLite file that does not
// exist is refused (a typo would otherwise make an empty database) unless
// create.
func openStore(ctx context.Context, dsn string, create bool) (store.Store, error) {
	if path, ok := strings.CutPrefix(dsn, "sqlite:"); ok && !create && path != ":memory:" {
		if _, err := os.Stat(path); err != nil {
			return nil, &exitError{code: exitBadInput, err: fmt.Errorf("--db %s: %w", dsn, err)}
		}
	}
	st, err := store.Open(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return st, nil
}
