package scenario

import (
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func slots(names ...string) resolver {
	return func(name string) (int, error) {
		for i, n := range names {
			if n == name {
				return i, nil
			}
		}
		return 0, errUnknown(name)
	}
}

type errUnknown string

func (e errUnknown) Error() string { return "unknown variable " + strconv.Quote(string(e)) }

func TestTemplateRender(t *testing.T) {
	env := &Env{
		Vars: []string{"alice", "a b&c", `say "hi"`}, VU: 7, Iteration: 42, Shard: 2,
		Rand:  rand.New(rand.NewPCG(1, 2)),
		Clock: func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) },
	}
	for _, tc := range []struct {
		name, src, want string
	}{
		{name: "literal", src: "/plain/path", want: "/plain/path"},
		{name: "variable", src: "/users/{{ user }}/x", want: "/users/alice/x"},
		{name: "no spaces", src: "{{user}}", want: "alice"},
		{name: "built-ins", src: "vu={{ $vu }} it={{ $iteration }} shard={{ $shard }}", want: "vu=7 it=42 shard=2"},
		{name: "timestamp", src: "{{ $timestamp }}", want: "1767323045000"},
		{name: "now", src: "{{ $now }}", want: "2026-01-02T03:04:05Z"},
		{name: "urlencode", src: "q={{ query | urlencode }}", want: "q=a+b%26c"},
		{name: "json", src: `{"m": "{{ msg | json }}"}`, want: `{"m": "say \"hi\""}`},
		{name: "chained filters", src: "{{ user | upper | base64 }}", want: "QUxJQ0U="},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tpl, err := compileTemplate(tc.src, slots("user", "query", "msg"))
			if err != nil {
				t.Fatal(err)
			}
			if got := tpl.Render(env); got != tc.want {
				t.Errorf("Render(%q) = %q, want %q", tc.src, got, tc.want)
			}
		})
	}
}

func TestTemplateRandomBuiltins(t *testing.T) {
	env := &Env{Rand: rand.New(rand.NewPCG(3, 4))}
	tpl, err := compileTemplate("{{ $uuid }} {{ $randInt(5, 7) }} {{ $randString(12) }}", slots())
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12} [5-7] [A-Za-z0-9]{12}$`)
	seen := map[string]bool{}
	for range 200 {
		out := tpl.Render(env)
		if !re.MatchString(out) {
			t.Fatalf("rendered %q", out)
		}
		seen[strings.Fields(out)[1]] = true
	}
	if len(seen) != 3 {
		t.Errorf("randInt(5, 7) produced %v, want all of 5, 6, 7", seen)
	}
}

func TestTemplateErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"{{ user", "is never closed"},
		{"{{ }}", "empty expression"},
		{"{{ nobody }}", `unknown variable "nobody"`},
		{"{{ $nope }}", "unknown built-in $nope"},
		{"{{ $randInt(1) }}", "takes 2 argument(s), got 1"},
		{"{{ $randInt(9, 1) }}", "min is greater than max"},
		{"{{ $randString(x) }}", `argument "x" is not an integer`},
		{"{{ $randString(0) }}", "length must be 1..4096"},
		{"{{ user | shout }}", `unknown filter "shout"`},
		{"{{ a b }}", "is not a variable name"},
	} {
		if _, err := compileTemplate(tc.src, slots("user")); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("compile %q: error %v, want it to contain %q", tc.src, err, tc.want)
		}
	}
}

func TestTemplateStaticAppendDoesNotAllocate(t *testing.T) {
	tpl, _ := compileTemplate("/items/{{ id }}?vu={{ $vu }}", slots("id"))
	env := &Env{Vars: []string{"17"}, VU: 3}
	buf := make([]byte, 0, 64)
	allocs := testing.AllocsPerRun(100, func() { buf = tpl.Append(buf[:0], env) })
	if allocs != 0 || string(buf) != "/items/17?vu=3" {
		t.Fatalf("Append: %q with %v allocs per run", buf, allocs)
	}
}

func BenchmarkTemplateAppend(b *testing.B) {
	tpl, _ := compileTemplate("/items/{{ id }}?vu={{ $vu }}&i={{ $iteration }}", slots("id"))
	env := &Env{Vars: []string{"17"}, VU: 3}
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf = tpl.Append(buf[:0], env)
	}
}
