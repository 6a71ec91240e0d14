package fold

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/barrage/barrage/internal/hist"
	"github.com/barrage/barrage/internal/store"
)

// ErrNoData is WriteHlog's answer for a run with no folded interval: there
// is no latency to log (yet, while it runs).
var ErrNoData = errors.New("no latency data")

// WriteHlog writes run r's latency, as folded, to w as an HdrHistogram
// interval log (hist.LogWriter): per interval, one untagged line with every
// step's samples and one line per step, tagged with its name
// (hist.LogTags). Times count from the run's epoch, as the report's do. A
// finished run's intervals are made complete first, as for its report.
//
// Nothing is written when the run has no interval (ErrNoData) or when
// reading its first intervals fails; a later error leaves w short.
func WriteHlog(ctx context.Context, st Store, r *store.Run, w io.Writer) error {
	plan, err := CompileRun(r)
	if err != nil {
		return err
	}
	if store.Finished(r.Status) {
		if _, err := Refresh(ctx, st, r, nil); err != nil {
			return err
		}
	}
	rows, err := st.ListIntervals(ctx, r.ID, -1, reportPage)
	if err != nil {
		return fmt.Errorf("intervals of run %s: %w", r.ID, err)
	}
	if len(rows) == 0 {
		return fmt.Errorf("run %s: %w", r.ID, ErrNoData)
	}
	names := make([]string, len(plan.Steps))
	comments := []string{fmt.Sprintf("[Barrage run %s, scenario %q]", r.ID, plan.Name)}
	for i, s := range plan.Steps {
		names[i] = s.Name
	}
	tags := hist.LogTags(names)
	for i, tag := range tags {
		comments = append(comments, fmt.Sprintf("[Tag=%s: step %d, %q]", tag, i+1, names[i]))
	}
	base := r.Epoch
	if base.IsZero() {
		base = r.CreatedAt
	}
	lw, err := hist.NewLogWriter(w, base, comments...)
	if err != nil {
		return fmt.Errorf("latency log of run %s: %w", r.ID, err)
	}
	hw := hlogWriter{lw: lw, tags: tags}
	for {
		for i := range rows {
			if err := hw.interval(&rows[i]); err != nil {
				return fmt.Errorf("latency log of run %s: %w", r.ID, err)
			}
		}
		if len(rows) < reportPage {
			return nil
		}
		if rows, err = st.ListIntervals(ctx, r.ID, rows[len(rows)-1].Index, reportPage); err != nil {
			return fmt.Errorf("intervals of run %s: %w", r.ID, err)
		}
	}
}

// hlogWriter writes a run's intervals, reusing one fold's count arrays.
type hlogWriter struct {
	lw   *hist.LogWriter
	tags []string
	acc  hist.Accumulator
}

// interval writes a stored interval's lines: its total, then each step's.
// Its length is the span its data covers: its width, or less for the run's
// last, partial interval (as the report's series counts it).
func (hw *hlogWriter) interval(row *store.Interval) error {
	hw.acc.Reset()
	head, err := hw.acc.Add(row.Data)
	if err != nil {
		return fmt.Errorf("interval %d: %w", row.Index, err)
	}
	length := row.End.Sub(row.Start)
	if d := head.End.Sub(row.Start); d > 0 && d < length {
		length = d
	}
	total := hw.acc.Total()
	if err := hw.lw.Interval("", row.Start, length, total.Latency); err != nil {
		return err
	}
	snap := hw.acc.Snapshot()
	for i := range snap.Steps {
		tag := "step" + strconv.Itoa(i+1)
		if i < len(hw.tags) {
			tag = hw.tags[i]
		}
		if err := hw.lw.Interval(tag, row.Start, length, snap.Steps[i].Latency); err != nil {
			return err
		}
	}
	return nil
}
