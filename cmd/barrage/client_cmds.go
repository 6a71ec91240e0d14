package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/barrage/barrage/api/client"
	"github.com/barrage/barrage/internal/scenario"
	"github.com/spf13/cobra"
)

// defaultServer is --server of the commands that talk to a server.
const defaultServer = "http://127.0.0.1:8480"

// newClientCmd is a command that talks to a server: it has --server, and
// run gets the client for it.
func newClientCmd(use, short string, args cobra.PositionalArgs, run func(ctx context.Context, c *client.Client, args []string) error) *cobra.Command {
	var server, token, caFile string
	cmd := &cobra.Command{
		Use: use, Short: short, Args: args,
		RunE: func(cmd *cobra.Command, args []string) error {
			tc, err := clientTLS(caFile)
			if err != nil {
				return err
			}
			c, err := client.NewTLS(server, tc)
			if err != nil {
				return usageError(err)
			}
			return refusedIsBadInput(run(cmd.Context(), c.WithToken(token), args))
		},
	}
	cmd.Flags().StringVar(&server, "server", defaultServer, "URL of the Barrage server")
	addCAFlag(cmd.Flags(), &caFile)
	cmd.Flags().StringVar(&token, "token", "", "API token (barrage tokens create); better in $BARRAGE_TOKEN than on the command line")
	return cmd
}

// refusedIsBadInput makes the server's refusal of a request (4xx: an
// unknown ID, an invalid document) exit 2, as bad input; the server or
// the network failing stays exit 1.
func refusedIsBadInput(err error) error {
	var apiErr *client.Error
	if errors.As(err, &apiErr) && apiErr.Status >= 400 && apiErr.Status < 500 {
		return &exitError{code: exitBadInput, err: err}
	}
	return err
}

// newRunsCmd is `barrage runs list|get|abort|delete|ramp|report`.
func newRunsCmd() *cobra.Command {
	get := newClientCmd("get RUN", "print a run as JSON", wantArgs(1, "RUN"),
		func(ctx context.Context, c *client.Client, args []string) error {
			r, err := c.GetRun(ctx, args[0])
			if err != nil {
				return err
			}
			return printJSON(r)
		})
	abort := newClientCmd("abort RUN", "abort a run; its partial report is kept", wantArgs(1, "RUN"),
		func(ctx context.Context, c *client.Client, args []string) error {
			return c.Abort(ctx, args[0], "cli", "")
		})
	del := newClientCmd("delete RUN", "delete a finished run and all stored of it: report, series, snapshots, events (admin)", wantArgs(1, "RUN"),
		func(ctx context.Context, c *client.Client, args []string) error {
			if err := c.DeleteRun(ctx, args[0]); err != nil {
				return err
			}
			fmt.Printf("deleted run %s\n", args[0])
			return nil
		})
	del.Long = "Deletes a finished run and everything stored of it, in one transaction: its\n" +
		"report, folded series, raw snapshots, events, tags, control and feeder\n" +
		"ranges. A run still queued or running is refused (exit 2): abort it first.\n" +
		"Runs that had it as their baseline keep its ID in baseline_run_id, and their\n" +
		"reports and verdicts stay as they were. Needs an admin token; audited."
	return newGroupCmd("runs", "list, inspect, abort, ramp or delete runs on a server; fetch reports",
		newRunsListCmd(), get, abort, del, newRunsRampCmd(), newRunsReportCmd())
}

func newRunsListCmd() *cobra.Command {
	var q client.RunList
	c := newClientCmd("list", "list the runs, newest first", wantArgs(0, ""),
		func(ctx context.Context, c *client.Client, _ []string) error {
			runs, _, err := c.ListRuns(ctx, q)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "RUN\tSTATUS\tSCENARIO\tWORKERS\tCREATED\tTAGS")
			for _, r := range runs {
				fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%v\n", r.RunID, r.Status, r.ScenarioID, r.WorkerCount, r.CreatedAt.Local().Format(time.DateTime), r.Tags)
			}
			return w.Flush()
		})
	f := c.Flags()
	f.StringVar(&q.Status, "status", "", "only runs in this status")
	f.StringVar(&q.ScenarioID, "scenario", "", "only runs of this scenario")
	f.StringVar(&q.Tag, "tag", "", "only runs tagged key=value")
	f.IntVar(&q.Limit, "limit", 20, "how many")
	return c
}

func newRunsRampCmd() *cobra.Command {
	var over time.Duration
	c := newClientCmd("ramp RUN TARGET", "move a running run's load to TARGET (VUs, or iterations/s in the open model)", wantArgs(2, "RUN and TARGET"),
		func(ctx context.Context, c *client.Client, args []string) error {
			target, err := strconv.ParseFloat(args[1], 64)
			if err != nil || target < 0 {
				return usageError(fmt.Errorf("TARGET must be a number >= 0, got %q", args[1]))
			}
			return c.Ramp(ctx, args[0], target, over, "cli")
		})
	c.Flags().DurationVar(&over, "over", 0, "reach the new target over this long")
	return c
}

func newRunsReportCmd() *cobra.Command {
	var format string
	c := newClientCmd("report RUN", "print a run's report", wantArgs(1, "RUN"),
		func(ctx context.Context, c *client.Client, args []string) error {
			b, err := c.Report(ctx, args[0], format)
			if err != nil {
				return err
			}
			_, err = os.Stdout.Write(b)
			return err
		})
	c.Flags().StringVar(&format, "format", "json", "json, junit, html (one self-contained file) or pdf")
	return c
}

// newScenariosCmd is `barrage scenarios push FILE|list`.
func newScenariosCmd() *cobra.Command {
	var id string
	push := newClientCmd("push FILE", "store a scenario file on the server", wantArgs(1, "one scenario file"),
		func(ctx context.Context, c *client.Client, args []string) error {
			s, err := scenario.LoadFile(args[0])
			if err != nil {
				return &exitError{code: exitBadInput, err: err}
			}
			doc, err := s.JSON()
			if err != nil {
				return err
			}
			var ref *client.ScenarioRef
			if id != "" {
				ref, err = c.UpdateScenario(ctx, id, doc)
			} else {
				ref, err = c.CreateScenario(ctx, doc)
			}
			if err != nil {
				return err
			}
			fmt.Printf("%s version %d\n", ref.ScenarioID, ref.Version)
			return nil
		})
	push.Flags().StringVar(&id, "id", "", "store as a new version of this scenario")
	push.ValidArgsFunction = scenarioFiles
	list := newClientCmd("list", "list the stored scenarios", wantArgs(0, ""),
		func(ctx context.Context, c *client.Client, _ []string) error {
			list, err := c.ListScenarios(ctx)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "SCENARIO\tVERSION\tNAME\tCREATED")
			for _, s := range list {
				fmt.Fprintf(w, "%s\t%d\t%s\t%s\n", s.ScenarioID, s.Version, s.Name, s.CreatedAt.Local().Format(time.DateTime))
			}
			return w.Flush()
		})
	return newGroupCmd("scenarios", "store (push) or list scenarios on a server", push, list)
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
