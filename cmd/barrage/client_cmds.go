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
)

// runRuns is `barrage runs list|get|abort|ramp|report`.
func runRuns(ctx context.Context, args []string) error {
	return refusedIsBadInput(runsCommand(ctx, args))
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

func runsCommand(ctx context.Context, args []string) error {
	usage := "usage: barrage runs list|get RUN|abort RUN|ramp RUN TARGET|report RUN [--format json|junit|html|pdf] [--server URL]"
	if len(args) == 0 {
		return &exitError{code: exitBadInput, err: fmt.Errorf("%s", usage)}
	}
	fs := newFlagSet("runs " + args[0])
	server := fs.String("server", envOr("BARRAGE_SERVER", "http://127.0.0.1:8480"), "URL of the Barrage server (default $BARRAGE_SERVER)")
	status := fs.String("status", "", "list: only runs in this status")
	scenarioID := fs.String("scenario", "", "list: only runs of this scenario")
	tag := fs.String("tag", "", "list: only runs tagged key=value")
	limit := fs.Int("limit", 20, "list: how many")
	over := fs.Duration("over", 0, "ramp: reach the new target over this long")
	format := fs.String("format", "json", "report: json, junit, html (one self-contained file) or pdf")
	if err := parseInterspersed(fs, args[1:]); err != nil {
		return &exitError{code: exitBadInput, err: err}
	}
	c, err := client.New(*server)
	if err != nil {
		return &exitError{code: exitBadInput, err: err}
	}
	need := map[string]int{"list": 0, "get": 1, "abort": 1, "ramp": 2, "report": 1}
	n, ok := need[args[0]]
	if !ok || fs.NArg() != n {
		return &exitError{code: exitBadInput, err: fmt.Errorf("%s", usage)}
	}
	switch args[0] {
	case "list":
		runs, _, err := c.ListRuns(ctx, client.RunList{Status: *status, ScenarioID: *scenarioID, Tag: *tag, Limit: *limit})
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "RUN\tSTATUS\tSCENARIO\tWORKERS\tCREATED\tTAGS")
		for _, r := range runs {
			fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%v\n", r.RunID, r.Status, r.ScenarioID, r.WorkerCount, r.CreatedAt.Local().Format(time.DateTime), r.Tags)
		}
		return w.Flush()
	case "get":
		r, err := c.GetRun(ctx, fs.Arg(0))
		if err != nil {
			return err
		}
		return printJSON(r)
	case "abort":
		return c.Abort(ctx, fs.Arg(0), "cli", "")
	case "ramp":
		target, err := strconv.ParseFloat(fs.Arg(1), 64)
		if err != nil || target < 0 {
			return &exitError{code: exitBadInput, err: fmt.Errorf("TARGET must be a number >= 0, got %q", fs.Arg(1))}
		}
		return c.Ramp(ctx, fs.Arg(0), target, *over, "cli")
	default:
		b, err := c.Report(ctx, fs.Arg(0), *format)
		if err != nil {
			return err
		}
		_, err = os.Stdout.Write(b)
		return err
	}
}

// runScenarios is `barrage scenarios push FILE|list`.
func runScenarios(ctx context.Context, args []string) error {
	return refusedIsBadInput(scenariosCommand(ctx, args))
}

func scenariosCommand(ctx context.Context, args []string) error {
	usage := "usage: barrage scenarios push FILE [--id ID] | list [--server URL]"
	if len(args) == 0 {
		return &exitError{code: exitBadInput, err: fmt.Errorf("%s", usage)}
	}
	fs := newFlagSet("scenarios " + args[0])
	server := fs.String("server", envOr("BARRAGE_SERVER", "http://127.0.0.1:8480"), "URL of the Barrage server (default $BARRAGE_SERVER)")
	id := fs.String("id", "", "push: store as a new version of this scenario")
	if err := parseInterspersed(fs, args[1:]); err != nil {
		return &exitError{code: exitBadInput, err: err}
	}
	c, err := client.New(*server)
	if err != nil {
		return &exitError{code: exitBadInput, err: err}
	}
	switch {
	case args[0] == "list" && fs.NArg() == 0:
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
	case args[0] == "push" && fs.NArg() == 1:
		s, err := scenario.LoadFile(fs.Arg(0))
		if err != nil {
			return &exitError{code: exitBadInput, err: err}
		}
		doc, err := s.JSON()
		if err != nil {
			return err
		}
		var ref *client.ScenarioRef
		if *id != "" {
			ref, err = c.UpdateScenario(ctx, *id, doc)
		} else {
			ref, err = c.CreateScenario(ctx, doc)
		}
		if err != nil {
			return err
		}
		fmt.Printf("%s version %d\n", ref.ScenarioID, ref.Version)
		return nil
	}
	return &exitError{code: exitBadInput, err: fmt.Errorf("%s", usage)}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
