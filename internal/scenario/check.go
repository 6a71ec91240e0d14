package scenario

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"time"

	"github.com/ohler55/ojg/jp"
	"github.com/ohler55/ojg/oj"
)

// Response is what checks and extractors look at. The engine fills it; the
// body is parsed as JSON at most once, and only when a check or an extractor
// asks for it.
type Response struct {
	Status  int
	Body    []byte
	Latency time.Duration
	Header  func(name string) string // first value of a response header; nil: none

	parsed  bool
	json    any
	jsonErr error
}

// Reset prepares the response for reuse.
func (r *Response) Reset() {
	*r = Response{Body: r.Body[:0]}
}

// JSON returns the body parsed as JSON.
func (r *Response) JSON() (any, error) {
	if !r.parsed {
		r.parsed = true
		r.json, r.jsonErr = oj.Parse(r.Body)
	}
	return r.json, r.jsonErr
}

func (r *Response) header(name string) string {
	if r.Header == nil {
		return ""
	}
	return r.Header(name)
}

type checkKind uint8

const (
	checkStatus checkKind = iota + 1
	checkContains
	checkRegex
	checkJSON
	checkLatency
)

// CompiledCheck evaluates one Check.
type CompiledCheck struct {
	Name     string
	kind     checkKind
	status   StatusList
	contains []byte
	re       *regexp.Regexp
	path     jp.Expr
	equals   any
	exists   bool // for JSON checks without Equals: whether the path must exist
	latency  time.Duration
}

func compileCheck(c Check) (*CompiledCheck, error) {
	kinds := 0
	for _, set := range []bool{len(c.Status) > 0, c.BodyContains != "", c.BodyRegex != "", c.JSON != "", c.LatencyUnder > 0} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		return nil, fmt.Errorf("give exactly one of status, body_contains, body_regex, json, latency_under (got %d)", kinds)
	}
	if (c.Equals != nil || c.Exists != nil) && c.JSON == "" {
		return nil, fmt.Errorf("equals and exists go with json")
	}
	cc := &CompiledCheck{Name: c.Name}
	switch {
	case len(c.Status) > 0:
		cc.kind, cc.status = checkStatus, c.Status
		cc.defaultName("status in " + c.Status.String())
	case c.BodyContains != "":
		cc.kind, cc.contains = checkContains, []byte(c.BodyContains)
		cc.defaultName("body contains " + strconv.Quote(c.BodyContains))
	case c.BodyRegex != "":
		re, err := regexp.Compile(c.BodyRegex)
		if err != nil {
			return nil, fmt.Errorf("body_regex: %w", err)
		}
		cc.kind, cc.re = checkRegex, re
		cc.defaultName("body matches " + c.BodyRegex)
	case c.JSON != "":
		if err := cc.compileJSON(c); err != nil {
			return nil, err
		}
	default:
		cc.kind, cc.latency = checkLatency, c.LatencyUnder.D()
		cc.defaultName("latency under " + c.LatencyUnder.String())
	}
	return cc, nil
}

func (c *CompiledCheck) compileJSON(src Check) error {
	path, err := jp.ParseString(src.JSON)
	if err != nil {
		return fmt.Errorf("json: bad JSONPath %q: %v", src.JSON, err)
	}
	if src.Equals != nil && src.Exists != nil {
		return fmt.Errorf("give equals or exists, not both")
	}
	c.kind, c.path, c.exists = checkJSON, path, true
	switch {
	case src.Equals != nil:
		c.equals = normalizeJSON(src.Equals)
		b, _ := json.Marshal(src.Equals)
		c.defaultName(src.JSON + " == " + string(b))
	case src.Exists != nil && !*src.Exists:
		c.exists = false
		c.defaultName(src.JSON + " is absent")
	default:
		c.defaultName(src.JSON + " exists")
	}
	return nil
}

func (c *CompiledCheck) defaultName(n string) {
	if c.Name == "" {
		c.Name = n
	}
}

// NeedsBody reports whether the check reads the response body.
func (c *CompiledCheck) NeedsBody() bool {
	return c.kind == checkContains || c.kind == checkRegex || c.kind == checkJSON
}

// Eval reports whether r passes the check.
func (c *CompiledCheck) Eval(r *Response) bool {
	switch c.kind {
	case checkStatus:
		return c.status.Match(r.Status)
	case checkContains:
		return bytes.Contains(r.Body, c.contains)
	case checkRegex:
		return c.re.Match(r.Body)
	case checkLatency:
		return r.Latency < c.latency
	case checkJSON:
		doc, err := r.JSON()
		if err != nil {
			return false
		}
		v, found := c.path.FirstFound(doc)
		if c.equals != nil {
			return found && reflect.DeepEqual(normalizeJSON(v), c.equals)
		}
		return found == c.exists
	}
	return false
}

// normalizeJSON makes values from YAML, encoding/json and ojg comparable:
// every number becomes a float64.
func normalizeJSON(v any) any {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case int:
		return float64(x)
	case json.Number:
		f, _ := x.Float64()
		return f
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalizeJSON(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalizeJSON(e)
		}
		return out
	}
	return v
}

type extractKind uint8

const (
	extractJSON extractKind = iota + 1
	extractRegex
	extractHeader
)

// Extractor takes one value out of a response into a VU's variable slot.
type Extractor struct {
	Var     string
	Slot    int
	kind    extractKind
	path    jp.Expr
	re      *regexp.Regexp
	header  string
	Default *string
}

func compileExtract(e Extract, slot int) (*Extractor, error) {
	n := 0
	for _, s := range []string{e.JSON, e.Regex, e.Header} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return nil, fmt.Errorf("give exactly one of json, regex, header (got %d)", n)
	}
	x := &Extractor{Var: e.Var, Slot: slot, Default: e.Default}
	switch {
	case e.JSON != "":
		path, err := jp.ParseString(e.JSON)
		if err != nil {
			return nil, fmt.Errorf("json: bad JSONPath %q: %v", e.JSON, err)
		}
		x.kind, x.path = extractJSON, path
	case e.Regex != "":
		re, err := regexp.Compile(e.Regex)
		if err != nil {
			return nil, fmt.Errorf("regex: %w", err)
		}
		if re.NumSubexp() > 1 {
			return nil, fmt.Errorf("regex: at most one capture group, got %d", re.NumSubexp())
		}
		x.kind, x.re = extractRegex, re
	default:
		x.kind, x.header = extractHeader, e.Header
	}
	return x, nil
}

// NeedsBody reports whether the extractor reads the response body.
func (x *Extractor) NeedsBody() bool { return x.kind != extractHeader }

// Extract returns the value, and false when nothing matched (the value is then
// the default, or "").
func (x *Extractor) Extract(r *Response) (string, bool) {
	v, ok := x.find(r)
	if !ok && x.Default != nil {
		return *x.Default, false
	}
	return v, ok
}

func (x *Extractor) find(r *Response) (string, bool) {
	switch x.kind {
	case extractHeader:
		v := r.header(x.header)
		return v, v != ""
	case extractRegex:
		m := x.re.FindSubmatch(r.Body)
		if m == nil {
			return "", false
		}
		return string(m[len(m)-1]), true
	case extractJSON:
		doc, err := r.JSON()
		if err != nil {
			return "", false
		}
		v, found := x.path.FirstFound(doc)
		if !found {
			return "", false
		}
		return jsonText(v), true
	}
	return "", false
}

// jsonText turns a JSON value into the text a template inserts: strings as
// they are, everything else as JSON.
func jsonText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return "null"
	}
	return oj.JSON(v)
}
