package api

import (
	"context"
	"fmt"
	"net/http"
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
		{"GET", "/runs", "", "viewer"},
		{"GET", "/runs/compare?a=" + run + "&b=" + f.finished.ID, "", "viewer"},
		{"GET", "/runs/" + run, "", "viewer"},
		{"GET", "/runs/" + f.finished.ID + "/report", "", "viewer"},
		{"GET", "/runs/" + run + "/metrics", "", "viewer"},
		{"POST", "/runs", fmt.Sprintf(`{"scenario_id": %q, "target_base_url": "http://127.0.0.1:9"}`, sc), "runner"},
		{"POST", "/runs/" + run + "/ramp", `{"target": 3}`, "runner"},
		{"POST", "/runs/" + f.queued.ID + "/abort", `{"reason": "matrix"}`, "runner"},
		{"GET", "/workers", "", "viewer"},
		{"GET", "/tokens", "", "admin"},
		{"POST", "/tokens", `{"name": "made-NAME", "role": "viewer"}`, "admin"},
		{"DELETE", "/tokens/none", "", "admin"},
		{"GET", "/audit", "", "admin"},
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
			if rec.Code == http.StatusUnauthorized || rec.Code == http.StatusForbidden {
				got = fmt.Sprint(rec.Code)
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
