package importer

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/barrage/barrage/internal/scenario"
)

// reimport checks that a Result's YAML reads back, through the parser
// `barrage validate` uses, as a valid scenario with the same steps.
func reimport(t *testing.T, res *Result) *scenario.Scenario {
	t.Helper()
	doc, err := res.YAML()
	if err != nil {
		t.Fatal(err)
	}
	s, err := scenario.ParseYAML(doc)
	if err != nil {
		t.Fatalf("the imported YAML does not validate: %v\n%s", err, doc)
	}
	if _, err := scenario.Compile(s); err != nil {
		t.Fatalf("compile: %v\n%s", err, doc)
	}
	if len(s.Steps) != len(res.Scenario.Steps) {
		t.Fatalf("YAML has %d steps, the import %d", len(s.Steps), len(res.Scenario.Steps))
	}
	return s
}

func importFile(t *testing.T, path string, opt HAROptions) *Result {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	res, err := HAR(data, opt)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	reimport(t, res)
	return res
}

func stepNames(s *scenario.Scenario) []string {
	var out []string
	for _, st := range s.Steps {
		out = append(out, st.Name)
	}
	return out
}

// TestHARTestdata: every HAR in testdata imports to a scenario that
// validates, with and without the options that keep more.
func TestHARTestdata(t *testing.T) {
	files, err := filepath.Glob("testdata/har/*.har")
	if err != nil || len(files) < 4 {
		t.Fatalf("testdata HARs: %v %v", files, err)
	}
	for _, f := range files {
		for _, opt := range []HAROptions{{}, {KeepStatic: true, KeepOtherOrigins: true}} {
			res := importFile(t, f, opt)
			if len(res.Scenario.Steps) == 0 {
				t.Errorf("%s %+v: no steps", f, opt)
			}
		}
	}
}

// TestHARFilters: the Playwright recordings' stylesheets and scripts are
// left out unless --keep-static; redirects the engine follows are merged;
// other origins are left out unless --keep-other-origins.
func TestHARFilters(t *testing.T) {
	tests := []struct {
		file  string
		opt   HAROptions
		steps []string
		urls  []string
	}{
		{file: "playwright-har-fulfill.har", steps: []string{"GET /"}, urls: []string{"/"}},
		{file: "playwright-har-fulfill.har", opt: HAROptions{KeepStatic: true},
			steps: []string{"GET /", "POST /style.css", "GET /style.css", "GET /script.js"},
			urls:  []string{"/", "/style.css", "/style.css", "/script.js"}},
		// https://theverge.com/ redirects twice, to www: one step whose
		// response is the last of the chain.
		{file: "playwright-har-redirect.har", steps: []string{"GET /"}, urls: []string{"/"}},
	}
	for _, tt := range tests {
		res := importFile(t, "testdata/har/"+tt.file, tt.opt)
		var urls []string
		for _, st := range res.Scenario.Steps {
			urls = append(urls, st.URLTemplate)
		}
		if got := stepNames(res.Scenario); !slices.Equal(got, tt.steps) || !slices.Equal(urls, tt.urls) {
			t.Errorf("%s %+v: steps %q urls %q, want %q %q", tt.file, tt.opt, got, urls, tt.steps, tt.urls)
		}
	}
	redirect := importFile(t, "testdata/har/playwright-har-redirect.har", HAROptions{})
	if c := redirect.Scenario.Steps[0].Checks; len(c) != 1 || !slices.Equal(c[0].Status, scenario.StatusList{200}) {
		t.Errorf("redirect chain: checks %+v, want the final status 200", c)
	}
	if !strings.Contains(strings.Join(redirect.Notes, " "), "2 requests that followed a redirect") {
		t.Errorf("notes do not mention the merged redirects: %q", redirect.Notes)
	}

	demo := importFile(t, "testdata/har/barrage-demo.har", HAROptions{})
	for _, st := range demo.Scenario.Steps {
		if strings.Contains(st.URLTemplate, "site.css") || strings.Contains(st.URLTemplate, "collect") || strings.HasPrefix(st.URLTemplate, "http") {
			t.Errorf("demo: step %q kept (%s)", st.Name, st.URLTemplate)
		}
	}
	all := importFile(t, "testdata/har/barrage-demo.har", HAROptions{KeepStatic: true, KeepOtherOrigins: true})
	var abs, css int
	for _, st := range all.Scenario.Steps {
		if strings.HasPrefix(st.URLTemplate, "http://127.0.0.1:") && strings.HasSuffix(st.URLTemplate, "/collect?event=view") {
			abs++
		}
		if st.URLTemplate == "/static/site.css" {
			css++
		}
	}
	if abs != 1 || css != 1 || len(all.Scenario.Steps) != len(demo.Scenario.Steps)+2 {
		t.Errorf("keep all: %d absolute, %d css, %d steps (vs %d): %q", abs, css, len(all.Scenario.Steps), len(demo.Scenario.Steps), stepNames(all.Scenario))
	}
}

// TestHARDemo: the demo recording's headers, body, think times and
// correlation.
func TestHARDemo(t *testing.T) {
	res := importFile(t, "testdata/har/barrage-demo.har", HAROptions{Name: "demo"})
	want := []string{"GET /cookie/set", "GET /items", "GET /items/3", "POST /login", "GET /me", "POST /echo", "GET /redirect/1"}
	if got := stepNames(res.Scenario); !slices.Equal(got, want) {
		t.Fatalf("steps %q, want %q", got, want)
	}
	st := res.Scenario.Steps
	for _, s := range st {
		for h := range s.Headers {
			if l := strings.ToLower(h); l == "cookie" || l == "host" || l == "accept-encoding" || strings.HasPrefix(l, ":") {
				t.Errorf("step %q keeps header %s", s.Name, h)
			}
		}
	}
	if st[0].Headers["User-Agent"] != "barrage-importer-test" || st[1].Headers["Accept"] != "application/json" {
		t.Errorf("recorded headers lost: %v %v", st[0].Headers, st[1].Headers)
	}
	if st[3].BodyTemplate != `{"user":"ann","password":"secret"}` || st[3].Headers["Content-Type"] != "application/json" {
		t.Errorf("login body %q headers %v", st[3].BodyTemplate, st[3].Headers)
	}
	// The token the login answered is extracted there and used by /me's
	// header and /echo's body; the user name the client sent is not.
	if !slices.Equal(st[3].Extract, []scenario.Extract{{Var: "token", JSON: "$.token"}}) {
		t.Errorf("login extracts %+v, want token from $.token", st[3].Extract)
	}
	if st[4].Headers["Authorization"] != "Bearer {{ token }}" {
		t.Errorf("/me Authorization = %q", st[4].Headers["Authorization"])
	}
	wantBody := `{"session":"{{ token }}","note":"literal {{ open_braces }} braces }} stay"}`
	if st[5].BodyTemplate != wantBody || res.Scenario.Variables[braceVar] != "{{" {
		t.Errorf("/echo body %q (variables %v), want %q", st[5].BodyTemplate, res.Scenario.Variables, wantBody)
	}
	// The recording paused 120ms after /cookie/set, /items/3 (after the
	// static and other-origin requests), /login and /me.
	for _, i := range []int{0, 2, 3, 4} {
		tt := st[i].ThinkTime
		if tt == nil || tt.Distribution != "constant" || tt.Value.D() < 100*time.Millisecond || tt.Value.D() > 2*time.Second {
			t.Errorf("step %q think time %+v, want about 120ms", st[i].Name, tt)
		}
	}
	if st[len(st)-1].ThinkTime != nil {
		t.Errorf("last step has a think time")
	}
}

// TestHARThinkTimes: gaps between one request's end and the next one's
// start, to the millisecond; none when they overlap.
func TestHARThinkTimes(t *testing.T) {
	entry := func(start string, ms float64, path string) string {
		return fmt.Sprintf(`{"startedDateTime":%q,"time":%g,"request":{"method":"GET","url":"http://app.test%s","headers":[]},
			"response":{"status":200,"headers":[],"content":{"mimeType":"text/html","text":""}}}`, start, ms, path)
	}
	// Listed out of order: the steps follow the start times.
	har := `{"log":{"entries":[` + strings.Join([]string{
		entry("2024-01-01T10:00:01.600Z", 50, "/b"), // 1.5s after /a ended
		entry("2024-01-01T10:00:00.000Z", 100, "/a"),
		entry("2024-01-01T10:00:01.620Z", 10, "/c"), // started while /b ran
		entry("2024-01-01T10:00:01.6301+00:00", 10, "/d"),
	}, ",") + `]}}`
	res, err := HAR([]byte(har), HAROptions{})
	if err != nil {
		t.Fatal(err)
	}
	reimport(t, res)
	var got []string
	for _, st := range res.Scenario.Steps {
		if st.ThinkTime == nil {
			got = append(got, "-")
		} else {
			got = append(got, st.ThinkTime.Value.String())
		}
	}
	if want := []string{"1.5s", "-", "-", "-"}; !slices.Equal(got, want) {
		t.Errorf("think times %q, want %q", got, want)
	}
	if want := []string{"GET /a", "GET /b", "GET /c", "GET /d"}; !slices.Equal(stepNames(res.Scenario), want) {
		t.Errorf("steps %q, want %q", stepNames(res.Scenario), want)
	}
}

// TestHARCorrelationIsConservative: short values, values without a
// digit, and values the client sent first are not correlated; a
// response header is, URL-encoded where the request encoded it.
func TestHARCorrelationIsConservative(t *testing.T) {
	har := `{"log":{"entries":[
	{"startedDateTime":"2024-01-01T10:00:00Z","time":1,"request":{"method":"POST","url":"http://app.test/session","headers":[],
		"postData":{"mimeType":"application/json","text":"{\"email\":\"ann2024@example.com\"}"}},
	 "response":{"status":201,"headers":[{"name":"X-Csrf-Token","value":"a+b/c=9999"},{"name":"Date","value":"Mon, 01 Jan 2024 10:00:00 GMT"}],
		"content":{"mimeType":"application/json","text":"{\"id\":\"s-12345678\",\"short\":\"ab12\",\"word\":\"abcdefghij\",\"email\":\"ann2024@example.com\",\"data\":[{\"session-id\":\"sx-99999999\"}]}"}}},
	{"startedDateTime":"2024-01-01T10:00:01Z","time":1,"request":{"method":"GET","headers":[{"name":"X-Session","value":"sx-99999999"}],
		"url":"http://app.test/sessions/s-12345678?csrf=a%2Bb%2Fc%3D9999&w=abcdefghij&s=ab12&e=ann2024@example.com"},
	 "response":{"status":200,"headers":[],"content":{"mimeType":"text/plain","text":"ok"}}}]}}`
	res, err := HAR([]byte(har), HAROptions{})
	if err != nil {
		t.Fatal(err)
	}
	reimport(t, res)
	st := res.Scenario.Steps
	wantURL := "/sessions/{{ id }}?csrf={{ x_csrf_token | urlencode }}&w=abcdefghij&s=ab12&e=ann2024@example.com"
	if st[1].URLTemplate != wantURL {
		t.Errorf("url %q, want %q", st[1].URLTemplate, wantURL)
	}
	if st[1].Headers["X-Session"] != "{{ session_id }}" {
		t.Errorf("X-Session %q", st[1].Headers["X-Session"])
	}
	want := []scenario.Extract{{Var: "id", JSON: "$.id"}, {Var: "session_id", JSON: "$.data[0]['session-id']"}, {Var: "x_csrf_token", Header: "X-Csrf-Token"}}
	if !slices.Equal(st[0].Extract, want) {
		t.Errorf("extracts %+v, want %+v", st[0].Extract, want)
	}
}

// TestHARBadInput: a clear error for what is not a usable HAR.
func TestHARBadInput(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"not json", `log: [`, "not a HAR file"},
		{"no log", `{"entries":[]}`, `no "log" object`},
		{"no entries", `{"log":{"entries":[]}}`, "no entries"},
		{"bad time", `{"log":{"entries":[{"startedDateTime":"yesterday","request":{"method":"GET","url":"http://a/"},"response":{"status":200}}]}}`,
			"entries[0].startedDateTime"},
		{"bad url", `{"log":{"entries":[{"startedDateTime":"2024-01-01T10:00:00Z","request":{"method":"GET","url":"http://a b/%zz"},"response":{"status":200}}]}}`,
			"entries[0].request.url"},
		{"all static", `{"log":{"entries":[{"startedDateTime":"2024-01-01T10:00:00Z","request":{"method":"GET","url":"http://a/x.png"},"response":{"status":200,"content":{"mimeType":"image/png"}}}]}}`,
			"nothing to import: all 1 requests were left out (1 static assets"},
	}
	for _, tt := range tests {
		_, err := HAR([]byte(tt.doc), HAROptions{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
	demo, err := os.ReadFile("testdata/har/barrage-demo.har")
	if err != nil {
		t.Fatal(err)
	}
	for origin, want := range map[string]string{
		"shop.example.com":         `origin "shop.example.com": want scheme://host[:port]`,
		"https://shop.example.com": "nothing to import: all 10 requests were left out",
	} {
		if _, err := HAR(demo, HAROptions{Origin: origin}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("--origin %s: error %v, want %q", origin, err, want)
		}
	}
}

// TestHARLargeRecording: a long recording (within the 256 steps) whose responses carry many
// values still correlates the one a late request reuses.
func TestHARLargeRecording(t *testing.T) {
	var entries []string
	for i := range 250 {
		var vals []string
		for k := range 1000 {
			vals = append(vals, fmt.Sprintf(`"v%d":"val-%06d-%04d"`, k, i, k))
		}
		path := fmt.Sprintf("/page/%d", i)
		if i == 249 {
			path = "/use/val-000007-0042"
		}
		entries = append(entries, fmt.Sprintf(`{"startedDateTime":"2024-01-01T10:%02d:%02d.000Z","time":5,
			"request":{"method":"GET","url":"http://app.test%s","headers":[]},
			"response":{"status":200,"headers":[],"content":{"mimeType":"application/json","text":%q}}}`,
			i/60, i%60, path, "{"+strings.Join(vals, ",")+"}"))
	}
	start := time.Now()
	res, err := HAR([]byte(`{"log":{"entries":[`+strings.Join(entries, ",")+`]}}`), HAROptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("250 entries of 1000 values each imported in %s", time.Since(start))
	st := res.Scenario.Steps
	if st[249].URLTemplate != "/use/{{ v42 }}" || !slices.Equal(st[7].Extract, []scenario.Extract{{Var: "v42", JSON: "$.v42"}}) {
		t.Errorf("last step %q, step 7 extracts %+v", st[249].URLTemplate, st[7].Extract)
	}
}
