package main

import (
	"context"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/barrage/barrage/api/client"
)

// newSchedulesCmd is `barrage schedules create|list|get|pause|resume|delete`.
func newSchedulesCmd() *cobra.Command {
	get := newClientCmd("get ID", "print a schedule as JSON", wantArgs(1, "ID"),
		func(ctx context.Context, c *client.Client, args []string) error {
			sc, err := c.GetSchedule(ctx, args[0])
			if err != nil {
				return err
			}
			return printJSON(sc)
		})
	pause := newClientCmd("pause ID", "pause a schedule: no firing starts a run until it is resumed", wantArgs(1, "ID"),
		func(ctx context.Context, c *client.Client, args []string) error {
			_, err := c.PauseSchedule(ctx, args[0])
			return err
		})
	resume := newClientCmd("resume ID", "resume a paused schedule", wantArgs(1, "ID"),
		func(ctx context.Context, c *client.Client, args []string) error {
			_, err := c.ResumeSchedule(ctx, args[0])
			return err
		})
	del := newClientCmd("delete ID", "delete a schedule (from Temporal too); the runs it started stay", wantArgs(1, "ID"),
		func(ctx context.Context, c *client.Client, args []string) error {
			return c.DeleteSchedule(ctx, args[0])
		})
	return newGroupCmd("schedules", "scheduled runs on Temporal Schedules: each firing starts an ordinary run tagged schedule=<id>",
		newSchedulesCreateCmd(), newSchedulesListCmd(), get, pause, resume, del)
}

func newSchedulesCreateCmd() *cobra.Command {
	req := client.ScheduleRequest{}
	tags := tagFlags{}
	var every time.Duration
	c := newClientCmd("create", "schedule a stored scenario's runs (--cron or --every)", wantArgs(0, ""),
		func(ctx context.Context, c *client.Client, _ []string) error {
			if every != 0 {
				req.Every = every.String()
			}
			if len(tags) > 0 {
				req.Tags = tags
			}
			sc, err := c.CreateSchedule(ctx, req)
			if err != nil {
				return err
			}
			fmt.Println(sc.ScheduleID)
			return nil
		})
	f := c.Flags()
	f.StringVar(&req.ScenarioID, "scenario", "", "ID of the stored scenario to run (barrage scenarios push)")
	f.StringVar(&req.Cron, "cron", "", `when to fire, a cron expression in UTC ("0 3 * * *", @daily; CRON_TZ=Europe/Paris first for a zone)`)
	f.DurationVar(&every, "every", 0, "fire at this interval instead, e.g. 24h (at least 1s)")
	f.StringVar(&req.TargetBaseURL, "target", "", "base URL the scenario's paths are resolved against")
	f.IntVar(&req.Workers, "workers", 1, "workers each run asks for")
	f.Var(tags, "tag", "tag each run, key=value (repeatable); every run is also tagged schedule=<id>")
	f.StringVar(&req.Baseline, "baseline", "", `compare each run with the newest finished run tagged key=value, or "previous" for the schedule's own`)
	_ = c.MarkFlagRequired("scenario")
	c.MarkFlagsOneRequired("cron", "every")
	c.MarkFlagsMutuallyExclusive("cron", "every")
	return c
}

func newSchedulesListCmd() *cobra.Command {
	return newClientCmd("list", "list the schedules: next firing, paused, last run and its verdict", wantArgs(0, ""),
		func(ctx context.Context, c *client.Client, _ []string) error {
			list, err := c.ListSchedules(ctx)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "SCHEDULE\tSCENARIO\tWHEN\tSTATE\tNEXT\tLAST RUN\tLAST STATUS")
			for _, sc := range list {
				when := sc.Cron
				if when == "" {
					when = "every " + sc.Every
				}
				state, next, last, status := "active", "-", "-", "-"
				if sc.Paused {
					state = "paused"
				}
				if sc.NextRunAt != nil {
					next = sc.NextRunAt.Local().Format(time.DateTime)
				}
				if r := sc.LastRun; r != nil {
					last, status = r.RunID, r.Status
					if r.ThresholdsFailed {
						status += ", thresholds failed"
					}
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", sc.ScheduleID, sc.ScenarioID, when, state, next, last, status)
			}
			return w.Flush()
		})
}
