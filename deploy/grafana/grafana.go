// Package grafana holds the Grafana dashboard that shows Barrage runs from
// VictoriaMetrics, and checks it.
//
// The dashboard (dashboards/barrage-run.json, embedded here) reads the series
// Barrage's exporter pushes: barrage_requests_total, barrage_errors_total,
// barrage_request_duration_seconds_{bucket,sum,count} (vmrange buckets),
// barrage_vus, barrage_target, barrage_dropped_iterations_total,
// barrage_checks_total and barrage_run_info. Compose provisions it from
// provisioning/ (see README.md).
//
// Usage:
//
//  1. Lint(Dashboard()) checks the JSON's structure: uid, datasource on every
//     target, the run_id and step variables, defined variables only, unique
//     panel ids.
//  2. Queries(Dashboard()) lists every panel target and variable query.
//  3. Expand(expr, vars, interval, rateInterval, rng) substitutes variables
//     as Grafana's Prometheus datasource does.
//  4. CheckAgainst(ctx, vm, runIDs, start, end) runs every query, expanded
//     for those runs, against a VictoriaMetrics holding them (see
//     internal/vmtest), and reports each query that fails or finds nothing.
package grafana

import (
	_ "embed"
	"encoding/json"
	"fmt"
)

//go:embed dashboards/barrage-run.json
var dashboard []byte

// UID is the dashboard's uid, DatasourceUID its datasource's.
const (
	UID           = "barrage-run"
	DatasourceUID = "barrage-vm"
)

// Dashboard returns the shipped dashboard's JSON (a copy).
func Dashboard() []byte { return append([]byte(nil), dashboard...) }

// Model is the part of a dashboard's JSON this package reads.
type Model struct {
	UID        string `json:"uid"`
	Title      string `json:"title"`
	Templating struct {
		List []Variable `json:"list"`
	} `json:"templating"`
	Panels []Panel `json:"panels"`
}

// Panel is a panel; a collapsed row carries its panels in Panels.
type Panel struct {
	ID         int         `json:"id"`
	Type       string      `json:"type"`
	Title      string      `json:"title"`
	Datasource *Datasource `json:"datasource"`
	Targets    []Target    `json:"targets"`
	Panels     []Panel     `json:"panels"`
}

// Target is one query of a panel.
type Target struct {
	RefID        string      `json:"refId"`
	Expr         string      `json:"expr"`
	Instant      bool        `json:"instant"`
	Range        bool        `json:"range"`
	Format       string      `json:"format"`
	LegendFormat string      `json:"legendFormat"`
	Datasource   *Datasource `json:"datasource"`
}

// Variable is a templating variable.
type Variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Datasource *Datasource     `json:"datasource"`
	Query      json.RawMessage `json:"query"`
	Definition string          `json:"definition"`
	Multi      bool            `json:"multi"`
	IncludeAll bool            `json:"includeAll"`
	AllValue   string          `json:"allValue"`
}

// Datasource names a datasource. Old dashboards name it by a bare string,
// kept in Name.
type Datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
	Name string `json:"-"`
}

// UnmarshalJSON reads an object {type, uid} or a bare name.
func (d *Datasource) UnmarshalJSON(b []byte) error {
	var name string
	if json.Unmarshal(b, &name) == nil {
		*d = Datasource{Name: name}
		return nil
	}
	type plain Datasource
	return json.Unmarshal(b, (*plain)(d))
}

// QueryText returns the variable's query: Grafana stores it as a string or
// as an object whose "query" field holds it.
func (v Variable) QueryText() string {
	if len(v.Query) == 0 {
		return v.Definition
	}
	var s string
	if json.Unmarshal(v.Query, &s) == nil {
		return s
	}
	var obj struct {
		Query string `json:"query"`
	}
	if json.Unmarshal(v.Query, &obj) == nil && obj.Query != "" {
		return obj.Query
	}
	return v.Definition
}

// Parse reads a dashboard's JSON.
func Parse(dashboard []byte) (*Model, error) {
	var m Model
	if err := json.Unmarshal(dashboard, &m); err != nil {
		return nil, fmt.Errorf("parse dashboard: %w", err)
	}
	return &m, nil
}

// AllPanels returns every panel, those nested in collapsed rows included,
// in order.
func (m *Model) AllPanels() []Panel {
	var out []Panel
	var walk func([]Panel)
	walk = func(ps []Panel) {
		for _, p := range ps {
			out = append(out, p)
			walk(p.Panels)
		}
	}
	walk(m.Panels)
	return out
}

// Query is one query of the dashboard: a panel's target, or a variable's
// query (then Variable is set and Panel is empty).
type Query struct {
	Panel    string // the panel's title
	PanelID  int
	Variable string // the variable's name
	RefID    string
	Expr     string // as written, variables not expanded
	Instant  bool
}

func (q Query) String() string {
	if q.Variable != "" {
		return fmt.Sprintf("variable %s", q.Variable)
	}
	return fmt.Sprintf("panel %q (id %d) query %s", q.Panel, q.PanelID, q.RefID)
}

// Queries returns the variables' queries, then every panel target in panel
// order. A dashboard that does not parse has none.
func Queries(dashboard []byte) []Query {
	m, err := Parse(dashboard)
	if err != nil {
		return nil
	}
	return m.Queries()
}

// Queries is Queries for a parsed dashboard.
func (m *Model) Queries() []Query {
	var out []Query
	for _, v := range m.Templating.List {
		if v.Type == "query" {
			out = append(out, Query{Variable: v.Name, Expr: v.QueryText()})
		}
	}
	for _, p := range m.AllPanels() {
		for _, t := range p.Targets {
			out = append(out, Query{Panel: p.Title, PanelID: p.ID, RefID: t.RefID, Expr: t.Expr, Instant: t.Instant && !t.Range})
		}
	}
	return out
}
