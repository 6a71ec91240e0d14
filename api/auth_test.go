package api

import (
	"context"
	"fmt"
	"github.com/barrage/barrage/internal/wire"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/barrage/barrage/internal/store"
)

// TestRoleMatrix sends every route of the API with no token, a bad one and
// each role's, and checks each answer against the route's role: 401
// without a valid token, 403 below the role, neither at or above it.
func TestRoleMatrix(t *testing.T) {
	f := newFixture(t, false)
	tokens := map[string]string{"": "", "bad": "brg_not-a-token"}
	for _, role := range []string{store.RoleViewer, store.RoleRunner, store.RoleAdmin} {
		tok, _, err := f.s.access.CreateToken(t.Context(), "t-"+role, role, "test")
		if err != nil {
			t.Fatal(err)
		}
		tokens[role] = tok
	}
	run, sc := f.running.ID, f.scenario
	routes := []struct {
		method, path, body, role string
	}{
		{"GET", "/healthz", "", ""},
		{"GET", "/readyz", "", ""},
		{"GET", "/ui/login", "", ""},
		{"GET", "/metrics", "", "viewer"},
		{"GET", "/openapi.json", "", "viewer"},
		{"GET", "/scenarios", "", "viewer"},
		{"GET", "/scenarios/" + sc, "", "viewer"},
		{"POST", "/scenarios", handlerScenario, "runner"},
		{"PUT", "/scenarios/" + sc, handlerScenario, "runner"},
		{"DELETE", "/scenarios/sc_none", "", "admin"},
		{"DELETE", "/runs/run_none", "", "admin"},
		{"GET", "/runs", "", "viewer"},
		{"GET", "/runs/compare?a=" + run + "&b=" + f.finished.ID, "", "viewer"},
		{"GET", "/runs/" + run, "", "viewer"},
		{"GET", "/runs/" + f.finished.ID + "/report", "", "viewer"},
		{"GET", "/runs/" + run + "/metrics", "", "viewer"},
		{"GET", "/runs/" + run + "/events", "", "viewer"},
		{"POST", "/runs", fmt.Sprintf(`{"scenario_id": %q, "target_base_url": "http://127.0.0.1:9"}`, sc), "runner"},
		{"POST", "/runs/" + run + "/ramp", `{"target": 3}`, "runner"},
		{"POST", "/runs/" + f.queued.ID + "/abort", `{"reason": "matrix"}`, "runner"},
		{"GET", "/workers", "", "viewer"},
		{"GET", "/tokens", "", "admin"},
		{"POST", "/tokens", `{"name": "made-NAME", "role": "viewer"}`, "admin"},
		{"DELETE", "/tokens/none", "", "admin"},
		{"GET", "/audit", "", "admin"},
		{"GET", "/secrets", "", "runner"},
		{"PUT", "/secrets/S_NAME", `{"value": "v"}`, "runner"},
		{"DELETE", "/secrets/none", "", "admin"},
		{"GET", "/ui/runs/" + run, "", "viewer"},
		{"POST", "/import/har", `{"log": {"entries": []}}`, "runner"},
		{"POST", "/import/openapi", `openapi: 3.0.0`, "runner"},
	}
	rank := map[string]int{"": 0, "bad": 0, "viewer": 1, "runner": 2, "admin": 3}
	tried, violations := 0, 0
	for _, rt := range routes {
		for _, who := range []string{"", "bad", "viewer", "runner", "admin"} {
			h := http.Header{"Authorization": {""}}
			if tokens[who] != "" {
				h.Set("Authorization", "Bearer "+tokens[who])
			}
			body := strings.ReplaceAll(rt.body, "NAME", who)
			// A stream (the live metrics) ends when its request does.
			ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
			rec := f.doCtx(ctx, rt.method, rt.path, body, h)
			cancel()
			tried++
			var want string
			switch {
			case rt.role == "":
				want = "admitted"
			case who == "" || who == "bad":
				want = "401"
			case rank[who] < rank[rt.role]:
				want = "403"
			default:
				want = "admitted"
			}
			got := "admitted"
			switch {
			case rec.Code == http.StatusUnauthorized || rec.Code == http.StatusForbidden:
				got = fmt.Sprint(rec.Code)
			case rec.Code == http.StatusSeeOther && strings.HasPrefix(rec.Header().Get("Location"), "/ui/login"):
				got = "401" // a console page sends the browser to sign in
			}
			if got != want {
				violations++
				t.Errorf("%s %s as %q: %d %s, want %s", rt.method, rt.path, who, rec.Code, rec.Body, want)
			}
		}
	}
	t.Logf("role × endpoint matrix: %d routes × 5 principals = %d requests, %d violations", len(routes), tried, violations)
}

// TestAuditRecordsWho checks that runs, aborts, scenario and token changes
// are in the audit log under the token's name, and that an abort's event
// names the token rather than what the client claims.
func TestAuditRecordsWho(t *testing.T) {
	f := newFixture(t, false)
	tok, _, err := f.s.access.CreateToken(t.Context(), "carol", store.RoleRunner, "test")
	if err != nil {
		t.Fatal(err)
	}
	as := http.Header{"Authorization": {"Bearer " + tok}}
	if rec := f.do(t, "POST", "/runs/"+f.queued.ID+"/abort", `{"by": "somebody-else", "reason": "r"}`, as); rec.Code != http.StatusAccepted {
		t.Fatalf("abort: %d %s", rec.Code, rec.Body)
	}
	if got := f.orch.last(); !strings.Contains(got, "carol") || strings.Contains(got, "somebody-else") {
		t.Fatalf("the abort reached the orchestrator as %q, want by carol", got)
	}
	rec := f.do(t, "GET", "/audit", "", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("audit: %d %s", rec.Code, rec.Body)
	}
	var log struct {
		Entries []auditJSON `json:"entries"`
	}
	mustJSON(t, rec, &log)
	var lines []string
	for _, e := range log.Entries {
		lines = append(lines, e.Actor+" "+e.Action+" "+e.Subject)
	}
	all := strings.Join(lines, "\n")
	for _, want := range []string{"test token.create root", "root scenario.create " + f.scenario, "root run.create " + f.queued.ID,
		"carol run.abort " + f.queued.ID} {
		if !strings.Contains(all, want) {
			t.Errorf("the audit log lacks %q:\n%s", want, all)
		}
	}
	// Only a hash is stored: no column of the token table holds the token.
	ts, err := f.st.ListTokens(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range ts {
		if strings.Contains(string(x.Hash), tok) || strings.Contains(fmt.Sprintf("%+v", x), tok) {
			t.Fatalf("token %s is stored in clear", x.Name)
		}
	}
}

// accessCases are the token, audit and login routes on the fixture's
// server without authentication (every caller an anonymous admin);
// TestLogin and TestRoleMatrix cover them with it.
func accessCases(f *handlerFixture) []handlerCase {
	return []handlerCase{
		{route: "POST /tokens", method: "POST", path: "/tokens", body: `{"name": "ci-bot", "role": "runner"}`, status: 201,
			check: func(t *testing.T, _ *handlerFixture, rec *httptest.ResponseRecorder) {
				var tok tokenJSON
				mustJSON(t, rec, &tok)
				if !strings.HasPrefix(tok.Token, "brg_") || tok.Name != "ci-bot" || tok.Role != "runner" || tok.CreatedBy != "anonymous" {
					t.Fatalf("new token %+v", tok)
				}
			}},
		{route: "POST /tokens", name: "taken", method: "POST", path: "/tokens", body: `{"name": "ci-bot", "role": "viewer"}`, status: 409, code: "conflict", field: "name"},
		{route: "POST /tokens", name: "bad role", method: "POST", path: "/tokens", body: `{"name": "x", "role": "root"}`, status: 422, code: "invalid_field", field: "role"},
		{route: "POST /tokens", name: "bad name", method: "POST", path: "/tokens", body: `{"name": "a b", "role": "viewer"}`, status: 422, code: "invalid_field", field: "name"},
		{route: "POST /tokens", name: "trailing data", method: "POST", path: "/tokens", body: `{"name": "y", "role": "viewer"} {}`, status: 400, code: "malformed_json"},
		{route: "GET /tokens", method: "GET", path: "/tokens", status: 200, check: func(t *testing.T, _ *handlerFixture, rec *httptest.ResponseRecorder) {
			if !strings.Contains(rec.Body.String(), `"ci-bot"`) || strings.Contains(rec.Body.String(), "brg_") {
				t.Fatalf("tokens list %s: want ci-bot, never a token", rec.Body)
			}
		}},
		{route: "DELETE /tokens/:name", method: "DELETE", path: "/tokens/ci-bot", status: 204},
		{route: "DELETE /tokens/:name", name: "unknown", method: "DELETE", path: "/tokens/ci-bot", status: 404, code: "not_found", field: "name"},
		{route: "GET /audit", method: "GET", path: "/audit?limit=1000", status: 200, check: bodyHas(`"action":"token.revoke","subject":"ci-bot"`)},
		{route: "GET /audit", name: "bad after", method: "GET", path: "/audit?after=-1", status: 400, code: "invalid_query"},
		{route: "GET /ui/login", method: "GET", path: "/ui/login", status: 200, check: bodyHas(`name="token"`)},
		{route: "POST /ui/login", name: "no auth: nothing to sign in to", method: "POST", path: "/ui/login", status: 303},
		{route: "POST /ui/logout", method: "POST", path: "/ui/logout", status: 303},
	}
}

// TestLogin signs in to the console: the token goes in a POST body and
// comes back as an HttpOnly, SameSite=Strict cookie that the console's
// pages and API calls are then authenticated by; a cross-site write with
// the cookie is refused.
func TestLogin(t *testing.T) {
	f := newFixture(t, false)
	viewer, _, err := f.s.access.CreateToken(t.Context(), "vera", store.RoleViewer, "test")
	if err != nil {
		t.Fatal(err)
	}
	noToken := http.Header{"Authorization": {""}}
	if rec := f.do(t, "GET", "/ui/runs/"+f.running.ID, "", noToken); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/ui/login?next=%2Fui%2Fruns%2F"+f.running.ID {
		t.Fatalf("console page without a token: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	form := func(body string, h http.Header) *httptest.ResponseRecorder {
		h.Set("Content-Type", "application/x-www-form-urlencoded")
		h.Set("Authorization", "")
		return f.do(t, "POST", "/ui/login", body, h)
	}
	if rec := form("token=brg_wrong&next=/ui/", http.Header{}); rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "unknown or revoked") {
		t.Fatalf("bad token: %d %s", rec.Code, rec.Body)
	}
	rec := form("token="+viewer+"&next=//evil.example/", http.Header{})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/ui/" {
		t.Fatalf("login: %d, location %q (an off-site next must not be followed)", rec.Code, rec.Header().Get("Location"))
	}
	ck := rec.Result().Cookies()
	if len(ck) != 1 || ck[0].Name != sessionCookie || !ck[0].HttpOnly || ck[0].SameSite != http.SameSiteStrictMode || ck[0].Value != viewer {
		t.Fatalf("cookie %+v", ck)
	}
	withCookie := http.Header{"Authorization": {""}, "Cookie": {sessionCookie + "=" + viewer}}
	if rec := f.do(t, "GET", "/ui/runs/"+f.running.ID, "", withCookie); rec.Code != http.StatusOK {
		t.Fatalf("console page with the cookie: %d", rec.Code)
	}
	if rec := f.do(t, "GET", "/runs", "", withCookie); rec.Code != http.StatusOK {
		t.Fatalf("API read with the cookie: %d %s", rec.Code, rec.Body)
	}
	// A viewer's cookie cannot write; a runner's cannot write cross-site.
	runner, _, err := f.s.access.CreateToken(t.Context(), "rex", store.RoleRunner, "test")
	if err != nil {
		t.Fatal(err)
	}
	cross := http.Header{"Authorization": {""}, "Cookie": {sessionCookie + "=" + runner}, "Origin": {"https://evil.example"}}
	if rec := f.do(t, "POST", "/runs/"+f.queued.ID+"/abort", `{}`, cross); rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "cross_origin") {
		t.Fatalf("cross-site abort with the cookie: %d %s", rec.Code, rec.Body)
	}
	same := http.Header{"Authorization": {""}, "Cookie": {sessionCookie + "=" + runner}, "Origin": {"http://example.com"}, "Sec-Fetch-Site": {"same-origin"}}
	if rec := f.do(t, "POST", "/runs/"+f.queued.ID+"/abort", `{}`, same); rec.Code != http.StatusAccepted {
		t.Fatalf("same-origin abort with the cookie: %d %s", rec.Code, rec.Body)
	}
	if rec := f.do(t, "POST", "/ui/logout", "", withCookie); rec.Code != http.StatusSeeOther || !strings.Contains(rec.Header().Get("Set-Cookie"), "Max-Age=0") {
		t.Fatalf("logout: %d %q", rec.Code, rec.Header().Get("Set-Cookie"))
	}
	// Revoked: the cookie stops working at once.
	if err := f.s.access.RevokeToken(t.Context(), "vera", "test"); err != nil {
		t.Fatal(err)
	}
	if rec := f.do(t, "GET", "/runs", "", withCookie); rec.Code != http.StatusUnauthorized {
		t.Fatalf("revoked token's cookie: %d", rec.Code)
	}
}

// testSecretKey seals the fixture's secrets.
var testSecretKey = []byte("0123456789abcdef0123456789abcdef")

// secretCases set, list and delete secrets, and give a run's workers the
// values its scenario reads — and no others.
func secretCases(f *handlerFixture) []handlerCase {
	var secretRun *store.Run
	sentinel := "s3ntinel-value-" + f.scenario
	return []handlerCase{
		{route: "PUT /secrets/:name", method: "PUT", path: "/secrets/API_KEY", body: `{"value": "` + sentinel + `"}`, status: 204},
		{route: "PUT /secrets/:name", name: "another", method: "PUT", path: "/secrets/UNUSED", body: `{"value": "not-for-this-run"}`, status: 204},
		{route: "PUT /secrets/:name", name: "bad name", method: "PUT", path: "/secrets/1bad", body: `{"value": "x"}`, status: 422, code: "invalid_field", field: "name"},
		{route: "PUT /secrets/:name", name: "no value", method: "PUT", path: "/secrets/X", body: `{}`, status: 400, code: "missing_field", field: "value"},
		{route: "GET /secrets", method: "GET", path: "/secrets", status: 200, check: func(t *testing.T, f *handlerFixture, rec *httptest.ResponseRecorder) {
			if !strings.Contains(rec.Body.String(), `"API_KEY"`) || strings.Contains(rec.Body.String(), sentinel) {
				t.Fatalf("list %s: want the name, never the value", rec.Body)
			}
			sealed, err := f.st.GetSecret(t.Context(), "API_KEY")
			if err != nil || strings.Contains(string(sealed), sentinel) {
				t.Fatalf("stored %q, %v: want it sealed", sealed, err)
			}
		}},
		{route: "POST /runs", name: "secret not set", method: "POST", path: "/runs",
			body:   fmt.Sprintf(`{"scenario_id": %q, "target_base_url": "http://127.0.0.1:9", "overrides": {"steps": [{"name": "s", "url_template": "/", "headers": {"X-Api-Key": "{{ secret.MISSING }}"}}]}}`, f.scenario),
			status: 422, code: "secret_not_set"},
		// An unknown run gets what a wrong token gets; check asks as the
		// run's worker.
		{route: "GET /ingest/runs/:id/secrets", method: "GET", path: "/ingest/runs/RUN/secrets", status: 401, code: "unauthorized",
			before: func(t *testing.T, f *handlerFixture) {
				rec := f.do(t, "POST", "/runs", fmt.Sprintf(`{"scenario_id": %q, "target_base_url": "http://127.0.0.1:9", "overrides": {"steps": [{"name": "s", "url_template": "/?k={{ secret.API_KEY }}"}]}}`, f.scenario), nil)
				if rec.Code != http.StatusCreated {
					t.Fatalf("start a run reading a secret: %d %s", rec.Code, rec.Body)
				}
				var run wire.Run
				mustJSON(t, rec, &run)
				var err error
				if secretRun, err = f.st.GetRun(t.Context(), run.RunID); err != nil {
					t.Fatal(err)
				}
				if strings.Contains(rec.Body.String(), sentinel) {
					t.Fatal("the run's answer holds the secret's value")
				}
			},
			check: func(t *testing.T, f *handlerFixture, _ *httptest.ResponseRecorder) {
				rec := f.do(t, "GET", "/ingest/runs/"+secretRun.ID+"/secrets", "", bearer(secretRun.Token))
				var out struct{ Secrets map[string]string }
				mustJSON(t, rec, &out)
				if rec.Code != 200 || len(out.Secrets) != 1 || out.Secrets["API_KEY"] != sentinel || rec.Header().Get("Cache-Control") != "no-store" {
					t.Fatalf("run secrets: %d %v %q", rec.Code, out.Secrets, rec.Header().Get("Cache-Control"))
				}
				checkResponse(t, "GET", "/ingest/runs/"+secretRun.ID+"/secrets", rec.Code, rec.Header(), rec.Body.Bytes())
				if rec := f.do(t, "GET", "/ingest/runs/"+secretRun.ID+"/secrets", "", bearer("forged")); rec.Code != http.StatusUnauthorized {
					t.Fatalf("forged run token: %d", rec.Code)
				}
				// Once the run is over, its token no longer reads secrets.
				if err := f.st.FinishRun(t.Context(), secretRun.ID, store.StatusCompleted, "test", time.Now()); err != nil {
					t.Fatal(err)
				}
				f.s.runs.forget(secretRun.ID)
				rec = f.do(t, "GET", "/ingest/runs/"+secretRun.ID+"/secrets", "", bearer(secretRun.Token))
				if rec.Code != http.StatusConflict || strings.Contains(rec.Body.String(), sentinel) {
					t.Fatalf("a finished run's secrets: %d %s", rec.Code, rec.Body)
				}
				checkResponse(t, "GET", "/ingest/runs/"+secretRun.ID+"/secrets", rec.Code, rec.Header(), rec.Body.Bytes())
			}},
		{route: "DELETE /secrets/:name", method: "DELETE", path: "/secrets/UNUSED", status: 204},
		{route: "DELETE /secrets/:name", name: "unknown", method: "DELETE", path: "/secrets/UNUSED", status: 404, code: "not_found", field: "name"},
	}
}
