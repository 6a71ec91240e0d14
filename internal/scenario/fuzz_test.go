package scenario

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

func newTestRand() *rand.Rand { return rand.New(rand.NewPCG(11, 13)) }

// FuzzParseYAML: any input either parses into a scenario that survives a JSON
// round trip unchanged, or gives an error; never a panic.
func FuzzParseYAML(f *testing.F) {
	f.Add([]byte(seedYAML))
	f.Add([]byte(fullYAML))
	f.Add([]byte("name: x\nrate_per_second: 5\nduration_seconds: 1\nsteps: [{url_template: '/{{ $uuid }}'}]\n"))
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Add([]byte("name: x\nload: {spike: {base: 1, peak: 9, at: 1s, hold: 1s, duration: 5s}}\nsteps: [{url_template: /}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseYAML(data)
		if err != nil {
			if s != nil {
				t.Fatal("a scenario returned with an error")
			}
			return
		}
		js, err := s.JSON()
		if err != nil {
			t.Fatalf("encode a valid scenario: %v", err)
		}
		back, err := ParseJSON(js)
		if err != nil {
			t.Fatalf("re-parse own JSON: %v\n%s", err, js)
		}
		// Empty and absent collections are the same scenario: compare the
		// canonical JSON, which must be a fixed point.
		js2, err := back.JSON()
		if err != nil || !bytes.Equal(js, js2) {
			t.Fatalf("round trip changed the scenario:\n%s\n%s", js, js2)
		}
	})
}

// FuzzTemplate: compiling never panics, and a compiled template renders.
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"/a/{{ x }}", "{{ $randInt(1, 2) }}", "{{ x | urlencode | json }}", "{{", "}}{{$uuid}}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		tpl, err := compileTemplate(src, slots("x"))
		if err != nil {
			return
		}
		_ = tpl.Render(&Env{Vars: []string{"v"}, Rand: newTestRand()})
	})
}

// FuzzThreshold: parsing never panics; what parses evaluates.
func FuzzThreshold(f *testing.F) {
	for _, s := range []string{"p95 < 300ms", "error_rate < 1%", "rps > baseline * 0.9", "p99.9<=1s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		th, err := ParseThreshold(expr)
		if err != nil {
			return
		}
		b := 1.0
		if _, err := th.Evaluate(1, &b); err != nil {
			t.Fatalf("%q parsed but does not evaluate: %v", expr, err)
		}
	})
}
