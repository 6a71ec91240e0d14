package store

import (
	"fmt"
	"strconv"
	"strings"
)

// whereBuilder collects the conditions of a query whose filters are
// optional, numbering their placeholders.
type whereBuilder struct {
	conds []string
	args  []any
}

// add appends a condition; cond has one %s per arg, replaced by its
// placeholder.
func (w *whereBuilder) add(cond string, args ...any) {
	phs := make([]any, len(args))
	for i, a := range args {
		w.args = append(w.args, a)
		phs[i] = placeholder(len(w.args))
	}
	w.conds = append(w.conds, fmt.Sprintf(cond, phs...))
}

// next returns the placeholder for one more argument (e.g. LIMIT).
func (w *whereBuilder) next(arg any) string {
	w.args = append(w.args, arg)
	return placeholder(len(w.args))
}

// placeholder is the nth argument's ($1, $2, …).
func placeholder(n int) string { return "$" + strconv.Itoa(n) }

func (w *whereBuilder) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// listRunsQuery builds ListRuns' query over runs r. cursorAt is the created
// time of the cursor run in the dialect's representation (ignored when
// f.Before is empty).
func listRunsQuery(columns string, f RunFilter, cursorAt any) (string, []any) {
	w := &whereBuilder{}
	if f.ScenarioID != "" {
		w.add("r.scenario_id = %s", f.ScenarioID)
	}
	if f.Status != "" {
		w.add("r.status = %s", f.Status)
	}
	if f.TagKey != "" {
		w.add("EXISTS (SELECT 1 FROM run_tags t WHERE t.run_id = r.id AND t.key = %s AND t.value = %s)",
			f.TagKey, f.TagValue)
	}
	if f.Before != "" {
		// Row comparison matches ORDER BY created_at DESC, id DESC, so runs
		// created in the same microsecond are neither skipped nor repeated.
		w.add("(r.created_at, r.id) < (%s, %s)", cursorAt, f.Before)
	}
	q := "SELECT " + columns + " FROM runs r" + w.String() +
		" ORDER BY r.created_at DESC, r.id DESC LIMIT " + w.next(clampLimit(f.Limit))
	return q, w.args
}

const finishedStatuses = "('" + string(StatusCompleted) + "', '" + string(StatusFailed) + "', '" + string(StatusAborted) + "')"
