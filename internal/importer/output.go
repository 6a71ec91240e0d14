package importer

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/barrage/barrage/internal/scenario"
	"go.yaml.in/yaml/v3"
)

// Result is an imported scenario and what the import left out or guessed.
type Result struct {
	Scenario *scenario.Scenario
	// Notes are written at the top of the YAML as comments.
	Notes []string
	// StepNotes[i], when set, is written as a comment above steps[i].
	StepNotes []string
}

// Load shared by both importers: a scenario needs one, and a smoke run is
// what an import is for until the user writes their own.
const (
	DefaultVUs      = 1
	DefaultDuration = time.Minute
)

// braceVar is the variable an imported scenario reads for a literal "{{":
// templates have no escape, so "{{" recorded in a body or a URL is written
// as {{ open_braces }} and the variable holds the two characters.
const braceVar = "open_braces"

// escapeTemplate makes recorded text safe to use as a template. It reports
// whether the text held "{{", and so needs braceVar.
func escapeTemplate(s string) (string, bool) {
	if !strings.Contains(s, "{{") {
		return s, false
	}
	return strings.ReplaceAll(s, "{{", "{{ "+braceVar+" }}"), true
}

// newScenario is a scenario with the importers' default load.
func newScenario(name, description string, vus int, d time.Duration) *scenario.Scenario {
	if vus <= 0 {
		vus = DefaultVUs
	}
	if d <= 0 {
		d = DefaultDuration
	}
	return &scenario.Scenario{Name: name, Description: description, VirtualUsers: vus, DurationSeconds: d.Seconds()}
}

// check compiles the scenario, so that an importer never hands out one
// that `barrage validate` would refuse.
func (r *Result) check() error {
	if _, err := scenario.Compile(r.Scenario); err != nil {
		return fmt.Errorf("the imported scenario does not validate (a bug in the importer, please report it): %w", err)
	}
	return nil
}

// YAML writes the scenario in the scenario language, with the notes as
// comments.
func (r *Result) YAML() ([]byte, error) {
	doc, err := r.Scenario.JSON()
	if err != nil {
		return nil, err
	}
	// JSON is YAML: decoding it into nodes keeps the fields in the
	// scenario's own order, and the nodes take the comments.
	var root yaml.Node
	if err := yaml.Unmarshal(doc, &root); err != nil {
		return nil, fmt.Errorf("convert scenario to YAML: %w", err)
	}
	blockStyle(&root)
	compact(&root, "")
	top := root.Content[0]
	var head []string
	for _, n := range r.Notes {
		head = append(head, wrapComment(n)...)
	}
	top.HeadComment = strings.Join(head, "\n")
	if steps := mapValue(top, "steps"); steps != nil {
		for i, n := range steps.Content {
			if i < len(r.StepNotes) && r.StepNotes[i] != "" {
				n.HeadComment = strings.Join(wrapComment(r.StepNotes[i]), "\n")
			}
		}
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&root); err != nil {
		return nil, fmt.Errorf("write scenario YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("write scenario YAML: %w", err)
	}
	return buf.Bytes(), nil
}

// blockStyle drops the JSON flow style and quoting, so that the encoder
// writes plain block YAML and quotes only what needs it.
func blockStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		blockStyle(c)
	}
}

// compact writes short scalar lists and small scalar maps on one line, as
// the examples do: status: [200], think_time: {distribution: constant, ...}.
func compact(n *yaml.Node, key string) {
	switch n.Kind {
	case yaml.SequenceNode:
		if len(n.Content) > 0 && allScalars(n.Content) {
			n.Style = yaml.FlowStyle
		}
	case yaml.MappingNode:
		if key != "headers" && key != "variables" && key != "steps" && key != "" && len(n.Content) <= 6 && allScalars(n.Content) && textLen(n.Content) < 60 {
			n.Style = yaml.FlowStyle
		}
	}
	for i, c := range n.Content {
		k := key
		if n.Kind == yaml.MappingNode && i%2 == 1 {
			k = n.Content[i-1].Value
		}
		compact(c, k)
	}
}

func allScalars(ns []*yaml.Node) bool {
	for _, c := range ns {
		if c.Kind != yaml.ScalarNode || strings.Contains(c.Value, "\n") {
			return false
		}
	}
	return true
}

func textLen(ns []*yaml.Node) int {
	n := 0
	for _, c := range ns {
		n += len(c.Value) + 2
	}
	return n
}

func mapValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// wrapComment splits a note into comment lines of about 100 characters.
func wrapComment(note string) []string {
	var lines []string
	for _, para := range strings.Split(note, "\n") {
		line := ""
		for _, w := range strings.Fields(para) {
			if line != "" && len(line)+1+len(w) > 100 {
				lines = append(lines, line)
				line = ""
			}
			if line != "" {
				line += " "
			}
			line += w
		}
		lines = append(lines, line)
	}
	return lines
}

// names hands out unique names: the second "GET /items" is "GET /items (2)".
type names map[string]int

func (n names) unique(name string) string {
	n[name]++
	if c := n[name]; c > 1 {
		return fmt.Sprintf("%s (%d)", name, c)
	}
	return name
}

// varName makes a variable name from a JSON key or a header name:
// letters, digits and _, starting with a letter.
func varName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9' && b.Len() > 0:
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "_"):
			b.WriteByte('_')
		}
	}
	out := strings.TrimSuffix(b.String(), "_")
	if out == "" || out == braceVar {
		out = "value"
	}
	return out
}
