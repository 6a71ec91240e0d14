package scenario

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Templates: URLs, header values and bodies may contain {{ expressions }}, the
// syntax of Mustache, Handlebars and Artillery:
//
//	{{ name }}                 a variable, a feeder field or an extracted value
//	{{ $vu }} {{ $iteration }} the VU's number in its shard, the iteration's number
//	{{ $shard }}               the shard's index
//	{{ $uuid }}                a random UUID (version 4)
//	{{ $randInt(1, 100) }}     a random integer in [1, 100]
//	{{ $randString(8) }}       8 random letters and digits
//	{{ $timestamp }}           Unix time in milliseconds; {{ $now }} is RFC 3339
//	{{ name | urlencode }}     filters: urlencode, base64, json (a JSON string's
//	                           inside, without quotes), upper, lower, trim
//
// There is no escape: "{{" always opens an expression.

// Env is what a template reads when rendered: one per virtual user.
type Env struct {
	Vars      []string // by slot, see Plan.Slots
	VU        int
	Iteration uint64
	Shard     int
	Rand      *rand.Rand
	Clock     func() time.Time // nil: time.Now
}

// Template is a compiled template.
type Template struct {
	src   string
	segs  []segment
	names []string
}

type segKind uint8

const (
	segLiteral segKind = iota
	segVar
	segBuiltin
)

type segment struct {
	kind    segKind
	lit     string
	slot    int
	builtin string
	args    []int
	filters []string
}

// resolver maps a variable name to its slot, or explains why it is unknown.
type resolver func(name string) (int, error)

var builtinArity = map[string]int{
	"vu": 0, "iteration": 0, "shard": 0, "uuid": 0, "timestamp": 0, "now": 0,
	"randInt": 2, "randString": 1,
}

var filterNames = map[string]bool{"urlencode": true, "base64": true, "json": true, "upper": true, "lower": true, "trim": true}

func compileTemplate(src string, resolve resolver) (*Template, error) {
	t := &Template{src: src}
	rest := src
	for rest != "" {
		open := strings.Index(rest, "{{")
		if open < 0 {
			t.segs = append(t.segs, segment{kind: segLiteral, lit: rest})
			break
		}
		if open > 0 {
			t.segs = append(t.segs, segment{kind: segLiteral, lit: rest[:open]})
		}
		end := strings.Index(rest[open:], "}}")
		if end < 0 {
			return nil, fmt.Errorf("template %q: {{ at offset %d is never closed with }}", src, len(src)-len(rest)+open)
		}
		seg, err := compileExpr(strings.TrimSpace(rest[open+2:open+end]), resolve)
		if err != nil {
			return nil, fmt.Errorf("template %q: %w", src, err)
		}
		if seg.kind == segVar {
			t.names = append(t.names, strings.TrimSpace(strings.Split(rest[open+2:open+end], "|")[0]))
		}
		t.segs = append(t.segs, seg)
		rest = rest[open+end+2:]
	}
	return t, nil
}

func compileExpr(expr string, resolve resolver) (segment, error) {
	parts := strings.Split(expr, "|")
	head := strings.TrimSpace(parts[0])
	var seg segment
	for _, f := range parts[1:] {
		f = strings.TrimSpace(f)
		if !filterNames[f] {
			return seg, fmt.Errorf("unknown filter %q (want urlencode, base64, json, upper, lower or trim)", f)
		}
		seg.filters = append(seg.filters, f)
	}
	if head == "" {
		return seg, fmt.Errorf("empty expression {{ }}")
	}
	if head[0] == '$' {
		return compileBuiltin(head[1:], seg)
	}
	if !isName(head) {
		return seg, fmt.Errorf("%q is not a variable name (letters, digits, _, - and .) or a $built-in", head)
	}
	slot, err := resolve(head)
	if err != nil {
		return seg, err
	}
	seg.kind, seg.slot = segVar, slot
	return seg, nil
}

func compileBuiltin(call string, seg segment) (segment, error) {
	name, argText, hasArgs := strings.Cut(call, "(")
	name = strings.TrimSpace(name)
	arity, ok := builtinArity[name]
	if !ok {
		return seg, fmt.Errorf("unknown built-in $%s (want $vu, $iteration, $shard, $uuid, $timestamp, $now, $randInt(min, max), $randString(n))", name)
	}
	var args []int
	if hasArgs {
		argText, ok = strings.CutSuffix(strings.TrimSpace(argText), ")")
		if !ok {
			return seg, fmt.Errorf("$%s: missing )", name)
		}
		for _, a := range strings.Split(argText, ",") {
			if strings.TrimSpace(a) == "" && arity == 0 {
				continue
			}
			n, err := strconv.Atoi(strings.TrimSpace(a))
			if err != nil {
				return seg, fmt.Errorf("$%s: argument %q is not an integer", name, strings.TrimSpace(a))
			}
			args = append(args, n)
		}
	}
	if len(args) != arity {
		return seg, fmt.Errorf("$%s takes %d argument(s), got %d", name, arity, len(args))
	}
	switch {
	case name == "randInt" && args[0] > args[1]:
		return seg, fmt.Errorf("$randInt(%d, %d): min is greater than max", args[0], args[1])
	case name == "randString" && (args[0] < 1 || args[0] > 4096):
		return seg, fmt.Errorf("$randString(%d): length must be 1..4096", args[0])
	}
	seg.kind, seg.builtin, seg.args = segBuiltin, name, args
	return seg, nil
}

func isName(s string) bool {
	for i, r := range s {
		letter := r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		if !letter && (i == 0 || !(r == '-' || r == '.' || (r >= '0' && r <= '9'))) {
			return false
		}
	}
	return s != ""
}

// Source returns the template text.
func (t *Template) Source() string { return t.src }

// Static returns the text when the template has no expressions.
func (t *Template) Static() (string, bool) {
	for _, s := range t.segs {
		if s.kind != segLiteral {
			return "", false
		}
	}
	return t.src, true
}

// Names returns the variable names the template reads.
func (t *Template) Names() []string { return t.names }

// Append renders the template onto dst.
func (t *Template) Append(dst []byte, env *Env) []byte {
	for i := range t.segs {
		s := &t.segs[i]
		if s.kind == segLiteral {
			dst = append(dst, s.lit...)
			continue
		}
		if len(s.filters) == 0 {
			dst = s.appendValue(dst, env)
			continue
		}
		v := string(s.appendValue(nil, env))
		for _, f := range s.filters {
			v = applyFilter(f, v)
		}
		dst = append(dst, v...)
	}
	return dst
}

// Render returns the rendered template as a string.
func (t *Template) Render(env *Env) string {
	if s, ok := t.Static(); ok {
		return s
	}
	return string(t.Append(nil, env))
}

func (s *segment) appendValue(dst []byte, env *Env) []byte {
	if s.kind == segVar {
		if s.slot < len(env.Vars) {
			dst = append(dst, env.Vars[s.slot]...)
		}
		return dst
	}
	switch s.builtin {
	case "vu":
		return strconv.AppendInt(dst, int64(env.VU), 10)
	case "iteration":
		return strconv.AppendUint(dst, env.Iteration, 10)
	case "shard":
		return strconv.AppendInt(dst, int64(env.Shard), 10)
	case "timestamp":
		return strconv.AppendInt(dst, env.now().UnixMilli(), 10)
	case "now":
		return env.now().UTC().AppendFormat(dst, time.RFC3339Nano)
	case "uuid":
		return appendUUID(dst, env.rand())
	case "randInt":
		lo, hi := s.args[0], s.args[1]
		return strconv.AppendInt(dst, int64(lo)+env.rand().Int64N(int64(hi-lo)+1), 10)
	case "randString":
		const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
		r := env.rand()
		for range s.args[0] {
			dst = append(dst, alphabet[r.IntN(len(alphabet))])
		}
	}
	return dst
}

func (e *Env) now() time.Time {
	if e.Clock != nil {
		return e.Clock()
	}
	return time.Now()
}

func (e *Env) rand() *rand.Rand {
	if e.Rand == nil {
		e.Rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())) // #nosec G404 -- test data for requests ($randInt, $uuid), no secret
	}
	return e.Rand
}

func appendUUID(dst []byte, r *rand.Rand) []byte {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], r.Uint64())
	binary.LittleEndian.PutUint64(b[8:], r.Uint64())
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hex = "0123456789abcdef"
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hex[c>>4], hex[c&0xf])
	}
	return dst
}

func applyFilter(f, v string) string {
	switch f {
	case "urlencode":
		return url.QueryEscape(v)
	case "base64":
		return base64.StdEncoding.EncodeToString([]byte(v))
	case "json":
		b, _ := json.Marshal(v) // a string always marshals
		return string(b[1 : len(b)-1])
	case "upper":
		return strings.ToUpper(v)
	case "lower":
		return strings.ToLower(v)
	case "trim":
		return strings.TrimSpace(v)
	}
	return v
}
