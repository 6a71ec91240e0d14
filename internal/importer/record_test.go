package importer

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/barrage/barrage/internal/target"
)

var update = flag.Bool("update", false, "re-record testdata/har/barrage-demo.har from the built-in target")

// recorder is a test-only HAR recorder: a client whose exchanges are kept
// as HAR entries, redirects recorded one by one as a browser does.
type recorder struct {
	t       *testing.T
	client  *http.Client
	entries []harEntry
	cookies map[string]string
}

func newRecorder(t *testing.T) *recorder {
	return &recorder{t: t, cookies: map[string]string{},
		client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// do sends one request, follows its redirects, and records each hop.
func (rc *recorder) do(method, rawURL string, headers map[string]string, body string) *http.Response {
	rc.t.Helper()
	for hop := 0; hop < 5; hop++ {
		resp, text := rc.exchange(method, rawURL, headers, body)
		loc := resp.Header.Get("Location")
		if resp.StatusCode < 300 || resp.StatusCode > 399 || loc == "" {
			resp.Body = io.NopCloser(strings.NewReader(text))
			return resp
		}
		next, err := resp.Request.URL.Parse(loc)
		if err != nil {
			rc.t.Fatal(err)
		}
		method, rawURL, body = http.MethodGet, next.String(), ""
	}
	rc.t.Fatal("too many redirects")
	return nil
}

func (rc *recorder) exchange(method, rawURL string, headers map[string]string, body string) (*http.Response, string) {
	req, err := http.NewRequest(method, rawURL, strings.NewReader(body))
	if err != nil {
		rc.t.Fatal(err)
	}
	req.Header.Set("User-Agent", "barrage-importer-test")
	req.Header.Set("Accept-Encoding", "gzip")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	var jar []string
	for k, v := range rc.cookies {
		jar = append(jar, k+"="+v)
	}
	if len(jar) > 0 {
		req.Header.Set("Cookie", strings.Join(jar, "; "))
	}
	start := time.Now()
	resp, err := rc.client.Do(req)
	if err != nil {
		rc.t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		rc.t.Fatal(err)
	}
	for _, c := range resp.Cookies() {
		rc.cookies[c.Name] = c.Value
	}
	e := harEntry{StartedDateTime: start.UTC().Format(time.RFC3339Nano), Time: float64(time.Since(start).Microseconds()) / 1000}
	e.Request = harRequest{Method: method, URL: rawURL, Headers: []harNV{{Name: "Host", Value: req.URL.Host}}}
	for k, vs := range req.Header {
		for _, v := range vs {
			e.Request.Headers = append(e.Request.Headers, harNV{Name: k, Value: v})
		}
	}
	if body != "" {
		e.Request.PostData = &harPostData{MimeType: req.Header.Get("Content-Type"), Text: body}
	}
	e.Response = harResponse{Status: resp.StatusCode, RedirectURL: resp.Header.Get("Location")}
	for k, vs := range resp.Header {
		for _, v := range vs {
			e.Response.Headers = append(e.Response.Headers, harNV{Name: k, Value: v})
		}
	}
	e.Response.Content.MimeType = resp.Header.Get("Content-Type")
	e.Response.Content.Text = string(b)
	rc.entries = append(rc.entries, e)
	return resp, string(b)
}

func (rc *recorder) har() []byte {
	doc := map[string]any{"log": map[string]any{
		"version": "1.2", "creator": map[string]string{"name": "barrage importer test recorder", "version": "1"},
		"entries": rc.entries,
	}}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		rc.t.Fatal(err)
	}
	return b
}

// recordDemo records a session on the built-in target: browse items, log
// in, use the token in a header and in a JSON body, a stylesheet, a
// redirect, and a call to another origin.
func recordDemo(t *testing.T) []byte {
	srv, err := target.New(target.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer other.Close()
	rc := newRecorder(t)
	pause := func() { time.Sleep(120 * time.Millisecond) }
	rc.do("GET", ts.URL+"/cookie/set?visitor=v1", nil, "")
	pause()
	rc.do("GET", ts.URL+"/items", map[string]string{"Accept": "application/json"}, "")
	rc.do("GET", ts.URL+"/static/site.css", map[string]string{"Accept": "text/css"}, "")
	rc.do("POST", other.URL+"/collect?event=view", nil, "")
	pause()
	rc.do("GET", ts.URL+"/items/3", map[string]string{"Accept": "application/json"}, "")
	pause()
	resp := rc.do("POST", ts.URL+"/login", map[string]string{"Content-Type": "application/json"}, `{"user":"ann","password":"secret"}`)
	var login struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&login); err != nil || login.Token == "" {
		t.Fatalf("login: %v %+v", err, login)
	}
	pause()
	rc.do("GET", ts.URL+"/me", map[string]string{"Authorization": "Bearer " + login.Token}, "")
	pause()
	rc.do("POST", ts.URL+"/echo", map[string]string{"Content-Type": "application/json"},
		`{"session":"`+login.Token+`","note":"literal {{ braces }} stay"}`)
	rc.do("GET", ts.URL+"/redirect/1", nil, "")
	return rc.har()
}

// TestRecordDemoHAR re-records testdata/har/barrage-demo.har with -update;
// without it, it checks that a fresh recording imports to the same steps
// as the committed one (ports and tokens aside).
func TestRecordDemoHAR(t *testing.T) {
	fresh := recordDemo(t)
	if *update {
		if err := os.WriteFile("testdata/har/barrage-demo.har", fresh, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	committed, err := os.ReadFile("testdata/har/barrage-demo.har")
	if err != nil {
		t.Fatal(err)
	}
	a, errA := HAR(fresh, HAROptions{Name: "demo"})
	b, errB := HAR(committed, HAROptions{Name: "demo"})
	if errA != nil || errB != nil {
		t.Fatalf("import: %v / %v", errA, errB)
	}
	if len(a.Scenario.Steps) != len(b.Scenario.Steps) {
		t.Fatalf("fresh recording: %d steps, committed: %d", len(a.Scenario.Steps), len(b.Scenario.Steps))
	}
	for i := range a.Scenario.Steps {
		if x, y := a.Scenario.Steps[i], b.Scenario.Steps[i]; x.Name != y.Name || x.URLTemplate != y.URLTemplate || !bytes.Equal([]byte(x.BodyTemplate), []byte(y.BodyTemplate)) {
			t.Errorf("step %d: fresh %s %s %q, committed %s %s %q", i, x.Name, x.URLTemplate, x.BodyTemplate, y.Name, y.URLTemplate, y.BodyTemplate)
		}
	}
}
