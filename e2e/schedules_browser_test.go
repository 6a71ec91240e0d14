package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	sdkclient "go.temporal.io/sdk/client"

	"github.com/barrage/barrage/api/client"
)

// TestBrowserSchedules drives /ui/schedules in a real Chromium, signed in
// with a runner's token on a server that needs tokens: two schedules made
// through the API are listed with their cadence (every, cron), state and
// next firing; the page's Pause and Resume buttons pause and resume the
// real Temporal Schedule (seen through the API, Temporal and the audit
// log, under the runner's name); Delete, confirmed, removes it.
func TestBrowserSchedules(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e")
	}
	b := startBrowser(t)
	dsn := "sqlite:" + t.TempDir() + "/barrage.db"
	c := startClusterOn(t, 0, dsn, "--no-auth=false", "--fleet-token", "fleet-schedules")
	adminToken := createToken(t, dsn, "ops", "admin")
	admin := c.api.WithToken(adminToken)
	runner := createToken(t, dsn, "rita", "runner")
	ctx := context.Background()
	ref, err := admin.CreateScenario(ctx, scenarioJSON(t, "name: nightly-ui\nvirtual_users: 1\nduration_seconds: 1\nsteps: [{name: home, url_template: /}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	// Far apart firings: nothing fires while the test looks (the target
	// would be port 9 anyway).
	hourly, err := admin.CreateSchedule(ctx, client.ScheduleRequest{ScenarioID: ref.ScenarioID, Every: "1h", TargetBaseURL: "http://127.0.0.1:9"})
	if err != nil {
		t.Fatal(err)
	}
	nightly, err := admin.CreateSchedule(ctx, client.ScheduleRequest{ScenarioID: ref.ScenarioID, Cron: "0 3 * * *", TargetBaseURL: "http://127.0.0.1:9", Workers: 2})
	if err != nil {
		t.Fatal(err)
	}

	tab := b.tab(t)
	tctx, cancel := context.WithTimeout(tab, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, chromedp.Navigate(c.url+"/ui/schedules")); err != nil {
		t.Fatal(err)
	}
	until(t, tab, 10*time.Second, "the login page", `location.pathname === '/ui/login' && !!document.querySelector('input[name=token]')`)
	eval[bool](t, tab, `(() => { document.querySelector('input[name=token]').value = `+jsString(runner)+`; document.querySelector('form').submit(); return true; })()`)
	row := func(id string) string {
		return `document.querySelector('[data-testid=schedules-table] tr[data-schedule-id=` + jsString(id) + `]')`
	}
	until(t, tab, 15*time.Second, "both schedules listed", `location.pathname === '/ui/schedules' && !!`+row(hourly.ScheduleID)+` && !!`+row(nightly.ScheduleID))

	cells := func(id string) []string {
		return eval[[]string](t, tab, `Array.from(`+row(id)+`.querySelectorAll('td')).map(td => td.innerText.trim())`)
	}
	// Schedule, Scenario, When, Target, State, Next firing, Last run, buttons.
	for _, tc := range []struct {
		id, when string
	}{{hourly.ScheduleID, "every 1h0m0s"}, {nightly.ScheduleID, "0 3 * * *"}} {
		got := cells(tc.id)
		if len(got) != 8 || !strings.HasPrefix(got[0], tc.id) || got[1] != ref.ScenarioID || got[2] != tc.when || got[3] != "http://127.0.0.1:9" ||
			got[4] != "active" || got[5] == "—" || got[6] != "—" {
			t.Errorf("schedule %s's row %q, want its cadence %q, active, a next firing and no run yet", tc.id, got, tc.when)
		}
	}
	errs := collectConsoleErrors(tab)
	b.shot(t, tab, "schedules")

	tc, err := sdkclient.Dial(sdkclient.Options{HostPort: c.temporal})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	temporalPaused := func(id string) bool {
		d, err := tc.ScheduleClient().GetHandle(ctx, "barrage-schedule-"+id).Describe(ctx)
		if err != nil {
			t.Fatalf("describe the Temporal Schedule of %s: %v", id, err)
		}
		return d.Schedule.State.Paused
	}
	click := func(id, button string) {
		t.Helper()
		eval[bool](t, tab, `(`+row(id)+`.querySelector('[data-testid=`+button+`]').click(), true)`)
	}

	click(hourly.ScheduleID, "pause")
	until(t, tab, 10*time.Second, "the row paused", row(hourly.ScheduleID)+`?.dataset.paused === 'true' && `+row(hourly.ScheduleID)+`.querySelector('[data-testid=paused]')?.textContent === 'paused' && !!`+row(hourly.ScheduleID)+`.querySelector('[data-testid=resume]')`)
	if got := cells(hourly.ScheduleID); got[5] != "—" {
		t.Errorf("a paused schedule shows a next firing %q", got[5])
	}
	if s, err := admin.GetSchedule(ctx, hourly.ScheduleID); err != nil || !s.Paused || s.NextRunAt != nil {
		t.Fatalf("after the page's Pause, the API shows %+v (%v), want paused with no next firing", s, err)
	}
	if !temporalPaused(hourly.ScheduleID) || temporalPaused(nightly.ScheduleID) {
		t.Fatal("after the page's Pause: want the hourly Temporal Schedule paused and the nightly one not")
	}
	b.shot(t, tab, "schedules-paused")

	click(hourly.ScheduleID, "resume")
	until(t, tab, 10*time.Second, "the row active again", row(hourly.ScheduleID)+`?.dataset.paused === 'false' && !!`+row(hourly.ScheduleID)+`.querySelector('[data-testid=pause]')`)
	if s, err := admin.GetSchedule(ctx, hourly.ScheduleID); err != nil || s.Paused || s.NextRunAt == nil {
		t.Fatalf("after the page's Resume, the API shows %+v (%v), want active with a next firing", s, err)
	}
	if temporalPaused(hourly.ScheduleID) {
		t.Fatal("after the page's Resume the Temporal Schedule is still paused")
	}

	// Delete asks first: declined, nothing happens; accepted, it is gone.
	eval[bool](t, tab, `(window.confirm = () => false, true)`)
	click(nightly.ScheduleID, "delete")
	time.Sleep(time.Second)
	if _, err := admin.GetSchedule(ctx, nightly.ScheduleID); err != nil {
		t.Fatalf("a declined delete: %v", err)
	}
	eval[bool](t, tab, `(window.confirm = () => true, true)`)
	click(nightly.ScheduleID, "delete")
	until(t, tab, 10*time.Second, "the deleted schedule gone from the list", `!`+row(nightly.ScheduleID)+` && !!`+row(hourly.ScheduleID))
	if _, err := admin.GetSchedule(ctx, nightly.ScheduleID); client.StatusOf(err) != http.StatusNotFound {
		t.Fatalf("GET the schedule deleted in the page: %v, want 404", err)
	}

	// The page acted as the signed-in runner.
	actions := auditActions(t, c.url, adminToken)
	for _, want := range []string{"schedule.pause " + hourly.ScheduleID, "schedule.resume " + hourly.ScheduleID, "schedule.delete " + nightly.ScheduleID} {
		if actions[want] != "rita" {
			t.Errorf("audit log: %q by %q, want by rita (all: %v)", want, actions[want], actions)
		}
	}
	for _, e := range errs() {
		if !strings.Contains(e, "status of 404") { // the browser's own /favicon.ico
			t.Errorf("console error: %s", e)
		}
	}
}

// auditActions reads GET /audit as the admin: "action subject" → actor.
func auditActions(t *testing.T, base, adminToken string) map[string]string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+"/audit?limit=1000", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out struct {
		Entries []struct{ Actor, Action, Subject string }
	}
	if err := json.Unmarshal(body, &out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /audit: %d %v: %.300s", resp.StatusCode, err, body)
	}
	m := map[string]string{}
	for _, e := range out.Entries {
		m[e.Action+" "+e.Subject] = e.Actor
	}
	return m
}
