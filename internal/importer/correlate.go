package importer

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"unicode"

	"github.com/barrage/barrage/internal/scenario"
)

// Correlation: a value the server sent in a response (a JSON body's string
// or number, or a header) that a later request carries in its URL, a
// header or its body becomes an extract on the step that received it and
// {{ var }} in the request. It is conservative, to keep constants from
// being turned into variables: a value counts only if it has at least
// minCorrelationLen characters, holds a digit and no space, and had not
// appeared in any request before the response that carried it (so values
// the client chose, such as a user name sent and echoed back, stay
// literal).
const minCorrelationLen = 8

// maxJSONValues bounds the values read from one response body.
const maxJSONValues = 2000

// sub replaces a recorded value with a template expression.
type sub struct{ value, expr string }

// candidate is a value a response carried, and where to extract it from.
type candidate struct {
	value string
	enc   string // value URL-encoded
	step  int
	// seenLen is how much of the requests' text had been sent when the
	// response came: a value in it was the client's, not the server's.
	seenLen int
	dead    bool             // found to be the client's
	from    scenario.Extract // JSON or Header set; Var set when first used
	hint    string           // the JSON key or header name, for the variable's name
}

type correlation struct {
	subs     [][]sub
	extracts [][]scenario.Extract
	notes    []string
	vars     map[string]string // value -> variable
	taken    map[string]bool
	uses     map[string]int // variable -> later steps using it
	order    []*candidate   // in the order their variables were made
}

func correlate(recs []*rec, drafts []draft) correlation {
	c := correlation{subs: make([][]sub, len(recs)), extracts: make([][]scenario.Extract, len(recs)),
		vars: map[string]string{}, taken: map[string]bool{braceVar: true}, uses: map[string]int{}}
	active := index{}
	var seen strings.Builder
	for j, d := range drafts {
		use := useText(d)
		for _, m := range active.matches(use) {
			if strings.Contains(seen.String()[:m.cand.seenLen], m.cand.value) {
				m.cand.dead = true // the client sent it before the server did
				continue
			}
			name := c.use(m.cand)
			c.subs[j] = append(c.subs[j], sub{value: m.value, expr: fmt.Sprintf(m.expr, name)})
		}
		seen.WriteString(seenText(recs[j], d))
		for _, cand := range candidates(recs[j], j) {
			cand.seenLen = seen.Len()
			active.add(cand)
		}
	}
	for _, xs := range c.extracts {
		sort.Slice(xs, func(i, j int) bool { return xs[i].Var < xs[j].Var })
	}
	for _, cand := range c.order {
		where := "$" + strings.TrimPrefix(cand.from.JSON, "$")
		if cand.from.Header != "" {
			where = "header " + cand.from.Header
		}
		c.notes = append(c.notes, fmt.Sprintf("{{ %s }} is %s of step %d's response, used by %d later steps",
			cand.from.Var, where, cand.step+1, c.uses[cand.from.Var]))
	}
	return c
}

// use names the candidate's variable and adds its extract, once.
func (c *correlation) use(cand *candidate) string {
	name, ok := c.vars[cand.value]
	if !ok {
		base := varName(cand.hint)
		name = base
		for n := 2; c.taken[name]; n++ {
			name = fmt.Sprintf("%s_%d", base, n)
		}
		c.taken[name] = true
		c.vars[cand.value] = name
		cand.from.Var = name
		c.extracts[cand.step] = append(c.extracts[cand.step], cand.from)
		c.order = append(c.order, cand)
	}
	c.uses[name]++
	return name
}

type match struct {
	cand        *candidate
	value, expr string
}

// index holds the candidates by their first minCorrelationLen bytes, as
// they are and URL-encoded, so that finding those a request holds costs a
// lookup per position of its text, however many values the responses
// carried.
type index struct {
	values   map[string]bool
	byPrefix map[string][]*candidate
}

// add indexes a candidate unless an earlier response carried its value.
func (ix *index) add(c *candidate) {
	if ix.values == nil {
		ix.values, ix.byPrefix = map[string]bool{}, map[string][]*candidate{}
	}
	if ix.values[c.value] {
		return
	}
	ix.values[c.value] = true
	ix.byPrefix[c.value[:minCorrelationLen]] = append(ix.byPrefix[c.value[:minCorrelationLen]], c)
	if c.enc != c.value && c.enc[:minCorrelationLen] != c.value[:minCorrelationLen] {
		ix.byPrefix[c.enc[:minCorrelationLen]] = append(ix.byPrefix[c.enc[:minCorrelationLen]], c)
	}
}

// matches finds the candidates a request's text holds, as they are or
// URL-encoded, longest first (then by value), so that a value inside a
// longer one does not take its place.
func (ix *index) matches(text string) []match {
	var out []match
	found := map[*candidate]bool{}
	for i := 0; i+minCorrelationLen <= len(text); i++ {
		for _, c := range ix.byPrefix[text[i:i+minCorrelationLen]] {
			if found[c] || c.dead {
				continue
			}
			switch {
			case strings.HasPrefix(text[i:], c.value):
				out = append(out, match{cand: c, value: c.value, expr: "{{ %s }}"})
			case c.enc != c.value && strings.HasPrefix(text[i:], c.enc):
				out = append(out, match{cand: c, value: c.enc, expr: "{{ %s | urlencode }}"})
			default:
				continue
			}
			found[c] = true
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if len(out[i].value) != len(out[j].value) {
			return len(out[i].value) > len(out[j].value)
		}
		return out[i].value < out[j].value
	})
	return out
}

// useText is what of a request can be templated.
func useText(d draft) string {
	var b strings.Builder
	b.WriteString(d.url + "\n")
	for _, h := range d.headers {
		b.WriteString(h[1] + "\n")
	}
	b.WriteString(d.body)
	return b.String()
}

// seenText is everything a request sent, cookies and the host included.
func seenText(r *rec, d draft) string {
	var b strings.Builder
	b.WriteString(r.e.Request.URL + "\n")
	for _, h := range r.e.Request.Headers {
		b.WriteString(h.Value + "\n")
	}
	b.WriteString(d.body + "\n")
	return b.String()
}

// noisyHeaders never carry a value worth correlating.
var noisyHeaders = map[string]bool{
	"date": true, "expires": true, "last-modified": true, "content-type": true, "content-length": true, "content-encoding": true,
	"server": true, "cache-control": true, "vary": true, "connection": true, "keep-alive": true, "transfer-encoding": true,
	"set-cookie": true, "age": true, "via": true, "accept-ranges": true, "alt-svc": true, "strict-transport-security": true,
	"content-security-policy": true, "content-security-policy-report-only": true, "report-to": true, "nel": true,
	"x-content-type-options": true, "x-frame-options": true, "x-xss-protection": true, "referrer-policy": true,
	"permissions-policy": true, "link": true, "p3p": true,
}

// candidates lists the values a response carried: its JSON body's, then
// its headers', each value once.
func candidates(r *rec, step int) []*candidate {
	var out []*candidate
	have := map[string]bool{}
	add := func(c *candidate) {
		if !have[c.value] && correlatable(c.value) {
			have[c.value] = true
			c.enc = url.QueryEscape(c.value)
			out = append(out, c)
		}
	}
	body := strings.TrimSpace(r.respBody)
	if strings.Contains(r.mime, "json") || strings.HasPrefix(body, "{") || strings.HasPrefix(body, "[") {
		walkJSON(body, func(path, key, value string) {
			add(&candidate{value: value, step: step, from: scenario.Extract{JSON: path}, hint: key})
		})
	}
	for _, h := range r.resp.Headers {
		lower := strings.ToLower(h.Name)
		if noisyHeaders[lower] || strings.HasPrefix(lower, "access-control-") || headerValue(r.resp.Headers, h.Name) != h.Value {
			continue // the engine extracts a header's first value only
		}
		add(&candidate{value: h.Value, step: step, from: scenario.Extract{Header: h.Name}, hint: h.Name})
	}
	return out
}

func correlatable(v string) bool {
	if len(v) < minCorrelationLen || len(v) > 4096 || strings.Contains(v, "{{") || strings.Contains(v, "}}") {
		return false
	}
	digit, varied := false, false
	for i, r := range v {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return false
		}
		digit = digit || unicode.IsDigit(r)
		varied = varied || (i > 0 && r != rune(v[0]))
	}
	return digit && varied
}

// walkJSON calls fn for each string and number in a JSON document, in the
// document's order, with its JSONPath and the key that holds it.
func walkJSON(doc string, fn func(path, key, value string)) {
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	n := 0
	_ = walkValue(dec, "$", "", 0, func(p, k, v string) {
		if n < maxJSONValues {
			fn(p, k, v)
		}
		n++
	})
}

var plainKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func walkValue(dec *json.Decoder, path, key string, depth int, fn func(path, key, value string)) error {
	tok, err := dec.Token()
	if err != nil || depth > 32 {
		return fmt.Errorf("json: %v", err)
	}
	switch t := tok.(type) {
	case json.Delim:
		for i := 0; dec.More(); i++ {
			p, k := fmt.Sprintf("%s[%d]", path, i), key
			if t == '{' {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				k, _ = kt.(string)
				p = path + "." + k
				if !plainKey.MatchString(k) {
					p = path + "['" + strings.ReplaceAll(k, "'", `\'`) + "']"
				}
			}
			if err := walkValue(dec, p, k, depth+1, fn); err != nil {
				return err
			}
		}
		_, err = dec.Token() // the closing delimiter
		return err
	case string:
		fn(path, key, t)
	case json.Number:
		fn(path, key, t.String())
	}
	return nil
}

// render makes a template of recorded text: the values in subs become
// their expressions, every other "{{" is escaped. It reports whether it
// escaped one.
func render(raw string, subs []sub) (string, bool) {
	var b strings.Builder
	braces := false
	for raw != "" {
		at, which := -1, -1
		for i, s := range subs {
			if k := strings.Index(raw, s.value); k >= 0 && (at < 0 || k < at || k == at && len(s.value) > len(subs[which].value)) {
				at, which = k, i
			}
		}
		if which < 0 {
			break
		}
		lit, esc := escapeTemplate(raw[:at])
		braces = braces || esc
		b.WriteString(lit + subs[which].expr)
		raw = raw[at+len(subs[which].value):]
	}
	lit, esc := escapeTemplate(raw)
	b.WriteString(lit)
	return b.String(), braces || esc
}
