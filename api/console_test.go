package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/barrage/barrage/internal/store"
	"github.com/barrage/barrage/web"
)

func get(t *testing.T, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
	return w
}

// checkedGet is get, its answer held to api/openapi.json.
func checkedGet(t *testing.T, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	w := get(t, h, path)
	checkResponse(t, http.MethodGet, path, w.Code, w.Header(), w.Body.Bytes())
	return w
}

// TestConsoleRoutes: / goes to the console; every console page is the
// shell, under a policy that keeps it to this origin; the assets are the
// embedded bundle.
func TestConsoleRoutes(t *testing.T) {
	s, _, _ := feedFixture(t)
	h := s.Handler()
	if w := get(t, h, "/"); w.Code != http.StatusFound || w.Header().Get("Location") != "/ui/" {
		t.Fatalf("GET / = %d to %q", w.Code, w.Header().Get("Location"))
	}
	for _, p := range []string{"/ui/", "/ui/runs/r", "/ui/scenarios", "/ui/scenarios/sc", "/ui/compare?base=a&head=b"} {
		w := get(t, h, p)
		if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") ||
			!bytes.Equal(w.Body.Bytes(), web.Shell()) || !strings.Contains(w.Header().Get("Content-Security-Policy"), "script-src 'self'") {
			t.Errorf("GET %s = %d %q CSP %q", p, w.Code, w.Header().Get("Content-Type"), w.Header().Get("Content-Security-Policy"))
		}
	}
	if w := get(t, h, "/ui/assets/app.js"); w.Code != http.StatusOK || !bytes.Equal(w.Body.Bytes(), web.Script()) ||
		!strings.HasPrefix(w.Header().Get("Content-Type"), "text/javascript") {
		t.Errorf("app.js: %d %q", w.Code, w.Header().Get("Content-Type"))
	}
	if w := get(t, h, "/ui/assets/app.css"); w.Code != http.StatusOK || !bytes.Equal(w.Body.Bytes(), web.Style()) {
		t.Errorf("app.css: %d", w.Code)
	}
	if w := get(t, h, "/ui/nothing-here"); w.Code != http.StatusNotFound {
		t.Errorf("an unknown console path: %d", w.Code)
	}
}

// TestReportFormats: html is one file with the data inline and nothing to
// fetch; pdf without a Chromium is 501 naming what to install; an
// unknown format is 400; none of them changes the run.
func TestReportFormats(t *testing.T) {
	s, _, id := feedFixture(t)
	h := s.Handler()

	w := checkedGet(t, h, "/runs/"+id+"/report?format=html")
	body := w.Body.String()
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("html: %d %q %.300s", w.Code, w.Header().Get("Content-Type"), body)
	}
	for _, want := range []string{`id="barrage-data"`, `http-equiv="Content-Security-Policy"`, "default-src 'none'", "connect-src 'none'"} {
		if !strings.Contains(body, want) {
			t.Errorf("html lacks %s", want)
		}
	}
	for _, bad := range []string{`src="http`, `href="http`, "<link ", `src="//`} {
		if strings.Contains(body, bad) {
			t.Errorf("html refers to something outside the file: %s", bad)
		}
	}

	t.Setenv("BARRAGE_CHROMIUM", "/nonexistent/chromium")
	w = checkedGet(t, h, "/runs/"+id+"/report?format=pdf")
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || w.Code != http.StatusNotImplemented || e.Error.Code != "pdf_unavailable" ||
		!strings.Contains(e.Error.Message, "chromium") {
		t.Fatalf("pdf without Chromium: %d %s", w.Code, w.Body)
	}
	if w := checkedGet(t, h, "/runs/"+id+"/report?format=docx"); w.Code != http.StatusBadRequest {
		t.Fatalf("unknown format: %d %s", w.Code, w.Body)
	}
	if w := checkedGet(t, h, "/runs/"+id+"/report"); w.Code != http.StatusOK {
		t.Fatalf("the json report after them: %d %s", w.Code, w.Body)
	}
}

// TestRunEvents lists a run's events, at seconds since its epoch; an
// unknown run is 404.
func TestRunEvents(t *testing.T) {
	s, st, id := feedFixture(t)
	epoch := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, e := range []store.Event{
		{RunID: id, At: epoch.Add(-1500 * time.Millisecond), Kind: "started", Detail: "load starts"},
		{RunID: id, At: epoch.Add(4250 * time.Millisecond), Kind: "ramp", Detail: "target 8 over 0s, asked by <b>x</b>"},
	} {
		if _, err := st.AppendEvent(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
	h := s.Handler()
	w := checkedGet(t, h, "/runs/"+id+"/events")
	var out struct {
		Events []struct {
			T      float64 `json:"t"`
			Kind   string  `json:"kind"`
			Detail string  `json:"detail"`
		} `json:"events"`
	}
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &out) != nil || len(out.Events) != 2 {
		t.Fatalf("events: %d %s", w.Code, w.Body)
	}
	if e := out.Events[0]; e.T != -1.5 || e.Kind != "started" {
		t.Errorf("first event %+v", e)
	}
	if e := out.Events[1]; e.T != 4.25 || e.Kind != "ramp" || e.Detail != "target 8 over 0s, asked by <b>x</b>" {
		t.Errorf("second event %+v", e)
	}
	if w := checkedGet(t, h, "/runs/nope/events"); w.Code != http.StatusNotFound {
		t.Fatalf("unknown run: %d", w.Code)
	}
}
