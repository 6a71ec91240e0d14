package reports

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Verdict is how a metric moved from base to head: "better", "worse" or
// "same".
func (d MetricDelta) Verdict() string {
	switch {
	case d.Better:
		return "better"
	case d.Worse:
		return "worse"
	}
	return "same"
}

// Headline is the comparison's one-line verdict: whether the head's
// baseline thresholds held against the base, and how many metrics of the
// whole run moved which way.
func (c *Comparison) Headline() string {
	better, worse := 0, 0
	for _, m := range c.Metrics {
		better, worse = better+btoi(m.Better), worse+btoi(m.Worse)
	}
	failed := 0
	for _, t := range c.BaselineThresholds {
		failed += btoi(!t.Passed)
	}
	moved := fmt.Sprintf("%d metrics better, %d worse", better, worse)
	if better == 1 {
		moved = fmt.Sprintf("1 metric better, %d worse", worse)
	}
	switch n := len(c.BaselineThresholds); {
	case failed > 0:
		return fmt.Sprintf("FAILED: %d of %d baseline thresholds failed; %s", failed, n, moved)
	case n > 0:
		return fmt.Sprintf("PASSED: %d of %d baseline thresholds held; %s", n, n, moved)
	}
	return "no baseline thresholds in the head's scenario; " + moved
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// WriteText writes the comparison as aligned tables for a terminal.
func (c *Comparison) WriteText(out io.Writer) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "base\t%s\t%s, %s\n", c.Base.RunID, c.Base.Scenario, c.Base.Status)
	fmt.Fprintf(w, "head\t%s\t%s, %s\n\n", c.Head.RunID, c.Head.Scenario, c.Head.Status)
	fmt.Fprintln(w, "METRIC\tBASE\tHEAD\tCHANGE\tVERDICT")
	for _, m := range c.Metrics {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", m.Metric, value(m.Base, m.Unit), value(m.Head, m.Unit), change(m), m.Verdict())
	}
	if len(c.Flows) > 0 {
		fmt.Fprintln(w, "\nFLOW\tMETRIC\tBASE\tHEAD\tCHANGE\tVERDICT")
		for _, f := range c.Flows {
			for _, m := range f.Metrics {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", f.Name, m.Metric, value(m.Base, m.Unit), value(m.Head, m.Unit), change(m), m.Verdict())
			}
		}
	}
	if len(c.Steps) > 0 {
		fmt.Fprintln(w, "\nSTEP\tMETRIC\tBASE\tHEAD\tCHANGE\tVERDICT")
		for _, s := range c.Steps {
			for _, m := range s.Metrics {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Label(), m.Metric, value(m.Base, m.Unit), value(m.Head, m.Unit), change(m), m.Verdict())
			}
		}
	}
	if len(c.BaselineThresholds) > 0 {
		fmt.Fprintln(w, "\nBASELINE THRESHOLD\tSTEP\tACTUAL\tLIMIT\tVERDICT")
		for _, t := range c.BaselineThresholds {
			fmt.Fprintf(w, "%s\t%s\t%g\t%g\t%s\n", t.Expression, orWholeRun(t), t.Actual, t.Limit, thresholdVerdict(t))
		}
	}
	fmt.Fprintf(w, "\n%s\n", c.Headline())
	return w.Flush()
}

// WriteMarkdown writes the comparison as GitHub-flavoured Markdown, to
// paste into a pull request: a headline, then tables.
func (c *Comparison) WriteMarkdown(w io.Writer) error {
	mark := "✅"
	if !c.Passed {
		mark = "❌"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s **%s** — head `%s` vs base `%s`\n\n", mark, mdCell(c.Headline()), c.Head.RunID, c.Base.RunID)
	fmt.Fprintf(&b, "Scenario %s; base %s, head %s.\n\n", mdCell(c.Head.Scenario), c.Base.Status, c.Head.Status)
	b.WriteString("| Metric | Base | Head | Change | Verdict |\n|---|---:|---:|---:|---|\n")
	for _, m := range c.Metrics {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", m.Metric, value(m.Base, m.Unit), value(m.Head, m.Unit), change(m), m.Verdict())
	}
	if len(c.Flows) > 0 {
		b.WriteString("\n**Per flow**\n\n| Flow | Metric | Base | Head | Change | Verdict |\n|---|---|---:|---:|---:|---|\n")
		for _, f := range c.Flows {
			for _, m := range f.Metrics {
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", mdCell(f.Name), m.Metric, value(m.Base, m.Unit), value(m.Head, m.Unit), change(m), m.Verdict())
			}
		}
	}
	if len(c.Steps) > 0 {
		b.WriteString("\n**Per step**\n\n| Step | Metric | Base | Head | Change | Verdict |\n|---|---|---:|---:|---:|---|\n")
		for _, s := range c.Steps {
			for _, m := range s.Metrics {
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", mdCell(s.Label()), m.Metric, value(m.Base, m.Unit), value(m.Head, m.Unit), change(m), m.Verdict())
			}
		}
	}
	if len(c.BaselineThresholds) > 0 {
		b.WriteString("\n**Baseline thresholds** (the head's, against the base)\n\n| Threshold | Step | Actual | Limit | Verdict |\n|---|---|---:|---:|---|\n")
		for _, t := range c.BaselineThresholds {
			fmt.Fprintf(&b, "| `%s` | %s | %g | %g | %s |\n", strings.NewReplacer("`", "'", "|", `\|`).Replace(t.Expression), mdCell(orWholeRun(t)), t.Actual, t.Limit, mdCell(thresholdVerdict(t)))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Label names a compared step: flow/name, or the name alone without flows.
func (s StepDelta) Label() string { return stepLabel(s.Flow, s.Name) }

// Label names a step: flow/name, or the name alone without flows.
func (s Step) Label() string { return stepLabel(s.Flow, s.Name) }

func stepLabel(flow, name string) string {
	if flow == "" {
		return name
	}
	return flow + "/" + name
}

func thresholdVerdict(t ThresholdResult) string {
	switch {
	case t.Error != "":
		return "failed: " + t.Error
	case t.Passed:
		return "passed"
	}
	return "failed"
}

func orWholeRun(t ThresholdResult) string {
	if s := t.Scope(); s != "" {
		return s
	}
	return "whole run"
}

// value prints a metric in its unit: ms with two decimals, a ratio as a
// percentage, counts whole, rates with one decimal.
func value(v float64, unit string) string {
	switch unit {
	case "ms":
		return fmt.Sprintf("%.2f ms", v)
	case "ratio":
		return fmt.Sprintf("%.2f%%", 100*v)
	case "1/s":
		return fmt.Sprintf("%.1f/s", v)
	}
	return fmt.Sprintf("%.0f", v)
}

// change is the signed difference in the metric's unit, and relative to
// the base when the base is not 0.
func change(m MetricDelta) string {
	d := value(m.Delta, m.Unit)
	if m.Delta >= 0 {
		d = "+" + d
	}
	if m.Unit == "ratio" {
		d = strings.TrimSuffix(d, "%") + " pp" // points of a percentage
	}
	if m.Base == 0 {
		return d
	}
	return fmt.Sprintf("%s (%+.1f%%)", d, m.DeltaPct)
}

// mdCell makes text safe in a Markdown table cell.
func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "<", "&lt;", ">", "&gt;").Replace(s)
}
