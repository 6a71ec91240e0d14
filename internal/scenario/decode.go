package scenario

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// MaxSize is the largest scenario document accepted, inline feeder data included.
const MaxSize = 8 << 20

// maxNodes bounds the work a document can cause, aliases included, so that a
// small "billion laughs" document cannot exhaust memory.
const maxNodes = 2_000_000

// nodeDecoder is implemented by field types with their own YAML/JSON syntax
// (durations, thresholds, status lists).
type nodeDecoder interface {
	decodeNode(n *yaml.Node) error
}

// decoder turns a YAML node tree into Go values by reflection, like yaml.v3's
// own decoder, but it knows the path of every value: unknown fields, type errors
// and later validation errors all name the field path and its line.
type decoder struct {
	lines map[string]int
	errs  Errors
	nodes int
}

func newDecoder() *decoder {
	return &decoder{lines: map[string]int{}}
}

// parseDocument reads YAML (JSON is YAML too) into s and returns the line of
// every field path.
func parseDocument(data []byte, s *Scenario) (map[string]int, error) {
	if len(data) > MaxSize {
		return nil, Errors{{Msg: fmt.Sprintf("scenario is %d bytes, more than the limit of %d", len(data), MaxSize)}}
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, Errors{{Msg: "not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}}
	}
	if root.Kind == 0 || len(root.Content) == 0 {
		return nil, Errors{{Msg: "the scenario is empty"}}
	}
	d := newDecoder()
	d.decode(root.Content[0], reflect.ValueOf(s).Elem(), "")
	if len(d.errs) > 0 {
		return d.lines, d.errs
	}
	return d.lines, nil
}

func (d *decoder) fail(n *yaml.Node, path, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	d.errs = append(d.errs, &FieldError{Path: path, Line: line, Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	d.nodes++
	if d.nodes > maxNodes {
		if d.nodes == maxNodes+1 {
			d.fail(n, path, "document too large or too deeply aliased")
		}
		return
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if path != "" {
		if _, seen := d.lines[path]; !seen {
			d.lines[path] = n.Line
		}
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // absent: keep the zero value
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), path)
		return
	}
	if v.CanAddr() {
		if nd, ok := v.Addr().Interface().(nodeDecoder); ok {
			if err := nd.decodeNode(n); err != nil {
				d.fail(n, path, "%v", err)
			}
			return
		}
	}
	switch v.Kind() {
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		d.decodeSlice(n, v, path)
	case reflect.Map:
		d.decodeMap(n, v, path)
	case reflect.Interface:
		d.decodeAny(n, v, path)
	default:
		d.decodeScalar(n, v, path)
	}
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		return strconv.Quote(n.Value)
	}
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "must be a mapping, got %s", kindName(n))
		return
	}
	fields := fieldsOf(v.Type())
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		name := key.Value
		fp := join(path, name)
		if key.Kind != yaml.ScalarNode {
			d.fail(key, path, "field names must be plain strings")
			continue
		}
		if seen[name] {
			d.fail(key, fp, "defined more than once")
			continue
		}
		seen[name] = true
		idx, ok := fields[name]
		if !ok {
			d.fail(key, fp, "unknown field%s", suggest(name, fields))
			continue
		}
		d.lines[fp] = key.Line
		d.decode(val, v.Field(idx), fp)
	}
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.fail(n, path, "must be a list, got %s", kindName(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		d.decode(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
	}
	v.Set(s)
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "must be a mapping, got %s", kindName(n))
		return
	}
	if v.Type().Key().Kind() != reflect.String {
		d.fail(n, path, "unsupported map key type %s", v.Type().Key())
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		fp := join(path, key.Value)
		if key.Kind != yaml.ScalarNode {
			d.fail(key, path, "keys must be plain strings")
			continue
		}
		k := reflect.ValueOf(key.Value).Convert(v.Type().Key())
		if m.MapIndex(k).IsValid() {
			d.fail(key, fp, "defined more than once")
			continue
		}
		elem := reflect.New(v.Type().Elem()).Elem()
		d.lines[fp] = key.Line
		d.decode(val, elem, fp)
		m.SetMapIndex(k, elem)
	}
	v.Set(m)
}

func (d *decoder) decodeAny(n *yaml.Node, v reflect.Value, path string) {
	var x any
	if err := n.Decode(&x); err != nil {
		d.fail(n, path, "%v", err)
		return
	}
	// Round-trip through JSON so that the value has the same types whether it
	// came from YAML or JSON (map[string]any, []any, float64...).
	b, err := json.Marshal(x)
	if err != nil {
		d.fail(n, path, "must be a JSON-compatible value: %v", err)
		return
	}
	if err := json.Unmarshal(b, &x); err != nil {
		d.fail(n, path, "%v", err)
		return
	}
	if x != nil {
		v.Set(reflect.ValueOf(x))
	}
}

func (d *decoder) decodeScalar(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.fail(n, path, "must be a single value, got %s", kindName(n))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(n.Value)
	case reflect.Bool:
		var b bool
		if n.Tag != "!!bool" || n.Decode(&b) != nil {
			d.fail(n, path, "must be true or false, got %q", n.Value)
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var i int64
		if n.Tag != "!!int" || n.Decode(&i) != nil || v.OverflowInt(i) {
			d.fail(n, path, "must be an integer, got %q", n.Value)
			return
		}
		v.SetInt(i)
	case reflect.Float32, reflect.Float64:
		var f float64
		if (n.Tag != "!!int" && n.Tag != "!!float") || n.Decode(&f) != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			d.fail(n, path, "must be a number, got %q", n.Value)
			return
		}
		v.SetFloat(f)
	default:
		d.fail(n, path, "unsupported field type %s", v.Type())
	}
}

var fieldCache sync.Map // reflect.Type -> map[string]int

// fieldsOf maps the YAML names of a struct's fields to their indexes.
func fieldsOf(t reflect.Type) map[string]int {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]int)
	}
	m := map[string]int{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		m[name] = i
	}
	fieldCache.Store(t, m)
	return m
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// suggest returns a " (did you mean ...?)" hint for a misspelled field.
func suggest(name string, fields map[string]int) string {
	best, bestDist := "", 3
	names := make([]string, 0, len(fields))
	for f := range fields {
		names = append(names, f)
	}
	sort.Strings(names)
	for _, f := range names {
		if dist := editDistance(name, f); dist < bestDist {
			best, bestDist = f, dist
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// FieldError is one problem with a scenario, located by field path and line.
type FieldError struct {
	Path string // e.g. steps[2].think_time.mean; empty for the whole document
	Line int    // 1-based line in the source; 0 when unknown
	Msg  string
}

func (e *FieldError) Error() string {
	var b strings.Builder
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Line > 0 {
		fmt.Fprintf(&b, " (line %d)", e.Line)
	}
	return b.String()
}

// Errors is every problem found in a scenario, in document order.
type Errors []*FieldError

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// AsErrors returns the field errors inside err, if it holds any.
func AsErrors(err error) (Errors, bool) {
	var es Errors
	if errors.As(err, &es) {
		return es, true
	}
	return nil, false
}
