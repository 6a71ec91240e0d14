package importer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/barrage/barrage/internal/scenario"
	"github.com/getkin/kin-openapi/openapi3"
)

// step makes one operation's step.
func (imp *openapiImport) step(path, method string, item *openapi3.PathItem, op *openapi3.Operation) (scenario.Step, string) {
	params := mergeParams(item.Parameters, op.Parameters)
	name := strings.TrimSpace(op.OperationID)
	if name == "" {
		name = method + " " + path
	}
	st := scenario.Step{Name: imp.stepNames.unique(name), Method: method}
	query := url.Values{}
	for _, p := range params {
		switch p.In {
		case openapi3.ParameterInQuery:
			if vals, example := paramValues(p); p.Required || example {
				query[p.Name] = vals
			}
		case openapi3.ParameterInHeader:
			if vals, example := paramValues(p); (p.Required || example) && len(vals) > 0 {
				if st.Headers == nil {
					st.Headers = map[string]string{}
				}
				st.Headers[p.Name] = imp.escape(strings.Join(vals, ","))
			}
		case openapi3.ParameterInCookie:
			if p.Required {
				imp.cookies++
			}
		}
	}
	raw := imp.base + fillPath(path, params)
	if len(query) > 0 {
		raw += "?" + query.Encode()
	}
	st.URLTemplate = imp.escape(raw)
	if op.RequestBody != nil && op.RequestBody.Value != nil && method != "GET" && method != "HEAD" {
		if body, ct := imp.body(op.RequestBody.Value); body != "" {
			st.BodyTemplate = imp.escape(body)
			if st.Headers == nil {
				st.Headers = map[string]string{}
			}
			st.Headers["Content-Type"] = ct
		}
	}
	st.Checks = []scenario.Check{{Status: okStatuses(op.Responses)}}
	note := method + " " + path
	if s := strings.Join(strings.Fields(op.Summary), " "); s != "" {
		note += ": " + s
	}
	return st, note
}

func (imp *openapiImport) escape(s string) string {
	out, braces := escapeTemplate(s)
	imp.braces = imp.braces || braces
	return out
}

// mergeParams is the path item's parameters overridden by the
// operation's (same name and location).
func mergeParams(lists ...openapi3.Parameters) []*openapi3.Parameter {
	var out []*openapi3.Parameter
	at := map[string]int{}
	for _, l := range lists {
		for _, ref := range l {
			if ref == nil || ref.Value == nil {
				continue
			}
			p := ref.Value
			key := p.In + "\x00" + p.Name
			if i, ok := at[key]; ok {
				out[i] = p
				continue
			}
			at[key] = len(out)
			out = append(out, p)
		}
	}
	return out
}

// fillPath puts each path parameter's value into the path template.
func fillPath(path string, params []*openapi3.Parameter) string {
	for _, p := range params {
		if p.In != openapi3.ParameterInPath {
			continue
		}
		vals, _ := paramValues(p)
		v := "1"
		if len(vals) > 0 && vals[0] != "" {
			v = strings.Join(vals, ",")
		}
		path = strings.ReplaceAll(path, "{"+p.Name+"}", url.PathEscape(v))
	}
	return path
}

// paramValues is a parameter's value as text (several for an array), and
// whether the document gave it as an example rather than it being made
// from the schema.
func paramValues(p *openapi3.Parameter) ([]string, bool) {
	if p.Example != nil {
		return texts(p.Example), true
	}
	if v := firstExample(p.Examples); v != nil {
		return texts(v), true
	}
	schema := p.Schema
	if schema == nil {
		for _, mt := range p.Content {
			if mt != nil {
				schema = mt.Schema
				break
			}
		}
	}
	if schema != nil && schema.Value != nil && (schema.Value.Example != nil || len(schema.Value.Examples) > 0) {
		return texts(newSampler(false).value(schema, 0)), true
	}
	return texts(newSampler(false).value(schema, 0)), false
}

func firstExample(examples openapi3.Examples) any {
	keys := make([]string, 0, len(examples))
	for k := range examples {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if e := examples[k]; e != nil && e.Value != nil && e.Value.Value != nil {
			return e.Value.Value
		}
	}
	return nil
}

// texts writes a value as parameter text; an array gives one per item.
func texts(v any) []string {
	switch t := v.(type) {
	case nil:
		return nil
	case []any:
		var out []string
		for _, x := range t {
			out = append(out, texts(x)...)
		}
		return out
	case string:
		return []string{t}
	case float64:
		return []string{strconv.FormatFloat(t, 'f', -1, 64)}
	case map[string]any:
		b, _ := json.Marshal(t)
		return []string{string(b)}
	}
	return []string{fmt.Sprint(v)}
}

// bodyRank orders the media types a body can be made for; 0: none.
func bodyRank(ct string) int {
	switch mt := mediaType(ct); {
	case mt == "application/json":
		return 4
	case strings.Contains(mt, "json"):
		return 3
	case mt == "application/x-www-form-urlencoded":
		return 2
	case mt == "text/plain":
		return 1
	}
	return 0
}

// body makes a request body and its Content-Type, or notes why not.
func (imp *openapiImport) body(rb *openapi3.RequestBody) (string, string) {
	best, rank := "", 0
	keys := make([]string, 0, len(rb.Content))
	for k := range rb.Content {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if r := bodyRank(k); r > rank {
			best, rank = k, r
		}
	}
	if rank == 0 {
		if len(keys) > 0 {
			if imp.bodies == nil {
				imp.bodies = map[string]int{}
			}
			imp.bodies[keys[0]]++
		}
		return "", ""
	}
	mt := rb.Content[best]
	v := mt.Example
	if v == nil {
		v = firstExample(mt.Examples)
	}
	if v == nil {
		v = newSampler(true).value(mt.Schema, 0)
	}
	switch rank {
	case 2:
		form := url.Values{}
		if obj, ok := v.(map[string]any); ok {
			for k, x := range obj {
				form[k] = texts(x)
			}
		}
		return form.Encode(), best
	case 1:
		return strings.Join(texts(v), ","), best
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", ""
	}
	return strings.TrimSuffix(buf.String(), "\n"), best
}

// okStatuses are the operation's documented 2xx statuses; any 2xx when it
// documents none.
func okStatuses(rs *openapi3.Responses) scenario.StatusList {
	var out scenario.StatusList
	if rs != nil {
		keys := rs.Keys()
		sort.Strings(keys)
		for _, k := range keys {
			switch {
			case strings.EqualFold(k, "2XX"):
				out = append(out, 2)
			case len(k) == 3 && k[0] == '2':
				if code, err := strconv.Atoi(k); err == nil {
					out = append(out, code)
				}
			}
		}
	}
	if len(out) == 0 {
		return scenario.StatusList{2}
	}
	return out
}
