package grafana

import (
	"fmt"
	"strings"
)

// LintError lists what Lint found wrong.
type LintError struct {
	Problems []string
}

func (e *LintError) Error() string {
	return "dashboard lint: " + strings.Join(e.Problems, "; ")
}

// Lint checks a dashboard's structure: its uid is UID; every target of every
// panel (panels in collapsed rows included) reads the datasource
// DatasourceUID, named on the target or its panel, and has an expr; the
// variables run_id (multi-value) and step exist and query DatasourceUID with
// label_values(...); every variable an expr refers to is defined or one of
// Grafana's own; panel ids are unique. It returns nil or a *LintError.
func Lint(dashboard []byte) error {
	m, err := Parse(dashboard)
	if err != nil {
		return &LintError{Problems: []string{err.Error()}}
	}
	var l linter
	if m.UID != UID {
		l.add("uid is %q, want %q", m.UID, UID)
	}
	defined := l.variables(m.Templating.List)
	l.panels(m.AllPanels(), defined)
	if len(l.problems) > 0 {
		return &LintError{Problems: l.problems}
	}
	return nil
}

type linter struct {
	problems []string
}

func (l *linter) add(format string, args ...any) {
	l.problems = append(l.problems, fmt.Sprintf(format, args...))
}

// variables checks the templating list and returns the names it defines.
func (l *linter) variables(list []Variable) map[string]bool {
	defined := map[string]bool{}
	byName := map[string]Variable{}
	for _, v := range list {
		if defined[v.Name] {
			l.add("variable %s is defined twice", v.Name)
		}
		defined[v.Name] = true
		byName[v.Name] = v
	}
	for _, name := range []string{"run_id", "step"} {
		if v, ok := byName[name]; !ok {
			l.add("variable %s is missing", name)
		} else if v.Type != "query" {
			l.add("variable %s is of type %q, want query", name, v.Type)
		}
	}
	if v, ok := byName["run_id"]; ok && !v.Multi {
		l.add("variable run_id is not multi-value: runs cannot be compared")
	}
	for _, v := range list {
		if v.Type != "query" {
			continue
		}
		if !isVM(v.Datasource) {
			l.add("variable %s: datasource is %s, want uid %s", v.Name, describe(v.Datasource), DatasourceUID)
		}
		q := v.QueryText()
		if _, _, err := parseLabelValues(q); err != nil {
			l.add("variable %s: %v", v.Name, err)
		}
		l.refs("variable "+v.Name, q, defined)
	}
	return defined
}

func (l *linter) panels(panels []Panel, defined map[string]bool) {
	ids := map[int]string{}
	for _, p := range panels {
		where := fmt.Sprintf("panel %q", p.Title)
		if p.ID <= 0 {
			l.add("%s has no id", where)
		} else if other, ok := ids[p.ID]; ok {
			l.add("%s: id %d is also panel %q's", where, p.ID, other)
		} else {
			ids[p.ID] = p.Title
		}
		if len(p.Targets) == 0 {
			continue
		}
		if p.Datasource != nil && !isVM(p.Datasource) && p.Datasource.UID != "-- Mixed --" {
			l.add("%s: datasource is %s, want uid %s", where, describe(p.Datasource), DatasourceUID)
		}
		refIDs := map[string]bool{}
		for i, t := range p.Targets {
			at := fmt.Sprintf("%s target %d (%s)", where, i, t.RefID)
			if t.RefID == "" || refIDs[t.RefID] {
				l.add("%s: refId is empty or repeated", at)
			}
			refIDs[t.RefID] = true
			ds := t.Datasource
			if ds == nil {
				ds = p.Datasource
			}
			if !isVM(ds) {
				l.add("%s: datasource is %s, want uid %s", at, describe(ds), DatasourceUID)
			}
			if strings.TrimSpace(t.Expr) == "" {
				l.add("%s: expr is empty", at)
			}
			l.refs(at, t.Expr, defined)
		}
	}
}

// refs reports every variable expr uses that is neither defined nor built in.
func (l *linter) refs(where, expr string, defined map[string]bool) {
	for _, name := range refs(expr) {
		if !defined[name] && !builtins[name] {
			l.add("%s: $%s is not a variable of the dashboard", where, name)
		}
	}
}

func isVM(d *Datasource) bool {
	return d != nil && d.UID == DatasourceUID && (d.Type == "" || d.Type == "prometheus")
}

func describe(d *Datasource) string {
	switch {
	case d == nil:
		return "not set"
	case d.Name != "":
		return fmt.Sprintf("the name %q", d.Name)
	default:
		return fmt.Sprintf("uid %q type %q", d.UID, d.Type)
	}
}

// parseLabelValues reads Grafana's label_values(selector, label) or
// label_values(label) and returns the series selector (one matching every
// series with the label when none is given) and the label.
func parseLabelValues(q string) (selector, label string, err error) {
	q = strings.TrimSpace(q)
	inner, ok := strings.CutPrefix(q, "label_values(")
	if !ok || !strings.HasSuffix(inner, ")") {
		return "", "", fmt.Errorf("query %q is not label_values(...)", q)
	}
	inner = strings.TrimSuffix(inner, ")")
	if i := strings.LastIndexByte(inner, ','); i >= 0 {
		selector, label = strings.TrimSpace(inner[:i]), strings.TrimSpace(inner[i+1:])
	} else {
		label = strings.TrimSpace(inner)
		selector = "{" + label + `!=""}`
	}
	if label == "" || selector == "" || strings.ContainsAny(label, `{}(),"= `) {
		return "", "", fmt.Errorf("query %q: want label_values(selector, label)", q)
	}
	return selector, label, nil
}
