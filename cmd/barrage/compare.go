package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/barrage/barrage/api/client"
	"github.com/spf13/cobra"
)

// compareLong documents the command and its JSON, whose field names are a
// contract for scripts.
const compareLong = `Compares run B (the head) with run A (the base): each metric of the whole
run and of each step present in both (matched by flow and name), with the
change and a verdict (better, worse, same), and the head scenario's
baseline thresholds ('p95 < baseline * 1.1') evaluated with A as the
baseline. Exit 99 when one of those fails, 2 for an unknown run or a bad
argument, 1 when the server cannot answer.

--format text (default): tables for a terminal.
--format markdown: GitHub-flavoured Markdown for a pull request, its first
line the verdict.
--format json: GET /runs/compare's answer, as is:
  base, head            {run_id, scenario, status}
  metrics[]             {metric, unit, base, head, delta, delta_pct, better, worse}
                        metric: rps, dropped_iterations, iterations, p50, p90, p95,
                        p99, p999, max, mean, error_rate, requests; unit: 1/s, count,
                        ms, ratio;
                        delta = head - base; delta_pct relative to base (0 when base is 0)
  steps[]               {flow (absent without flows), name, metrics[] as above}
  flows[]               {name, metrics[] as above plus request_share}: each flow in
                        both runs, over all its steps (absent without flows)
  baseline_thresholds[] {expression, step, passed, actual, limit, error}
  passed                false when a baseline threshold failed`

// newCompareCmd is `barrage compare A B`.
func newCompareCmd() *cobra.Command {
	var format string
	c := newClientCmd("compare A B", "compare run B (head) with run A (base); exit 99 when a baseline threshold fails", wantArgs(2, "runs A (base) and B (head)"),
		func(ctx context.Context, c *client.Client, args []string) error {
			cmp, err := c.Compare(ctx, args[0], args[1])
			if err != nil {
				return err
			}
			switch format {
			case "json":
				err = printJSON(cmp)
			case "markdown":
				err = cmp.WriteMarkdown(os.Stdout)
			default:
				err = cmp.WriteText(os.Stdout)
			}
			if err != nil {
				return err
			}
			if !cmp.Passed {
				return &exitError{code: exitThresholdFailed, err: errors.New("a baseline threshold failed against the base run")}
			}
			return nil
		})
	c.Long = compareLong
	c.Flags().StringVar(&format, "format", "text", "text, markdown or json")
	run := c.RunE
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if format != "text" && format != "markdown" && format != "json" {
			return usageError(fmt.Errorf("--format must be text, markdown or json, got %q", format))
		}
		return run(cmd, args)
	}
	return c
}
