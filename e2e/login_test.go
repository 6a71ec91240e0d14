package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsoleLogin signs in to the console of a server that needs tokens,
// in a real Chromium: a page asked for without a token leads to the login
// page; a wrong token is refused there; the right one opens the console,
// whose API calls (made with the cookie the login set) then work, while the
// token is in no URL and no script can read the cookie.
func TestConsoleLogin(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e")
	}
	b := startBrowser(t)
	dsn := "sqlite:" + t.TempDir() + "/barrage.db"
	c := startClusterOn(t, 0, dsn, "--no-auth=false", "--fleet-token", "fleet-login")
	admin := createToken(t, dsn, "ops", "admin")
	viewer := createToken(t, dsn, "vera", "viewer")
	ref, err := c.api.WithToken(admin).CreateScenario(context.Background(), scenarioJSON(t, "name: behind-the-login\nvirtual_users: 1\nduration_seconds: 1\nsteps:\n  - url_template: /\n"))
	if err != nil {
		t.Fatal(err)
	}
	tab := b.tab(t)
	nav := func(url string) {
		t.Helper()
		tctx, cancel := context.WithTimeout(tab, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(tctx, chromedp.Navigate(url)); err != nil {
			t.Fatalf("open %s: %v", url, err)
		}
	}
	nav(c.url + "/ui/scenarios/" + ref.ScenarioID)
	until(t, tab, 10*time.Second, "the login page", `location.pathname === '/ui/login' && !!document.querySelector('input[name=token]')`)
	if n := eval[string](t, tab, `document.querySelector('input[name=next]').value`); n != "/ui/scenarios/"+ref.ScenarioID {
		t.Errorf("the login page will go on to %q", n)
	}
	b.shot(t, tab, "login")
	submit := func(token string) {
		t.Helper()
		eval[bool](t, tab, `(() => { document.querySelector('input[name=token]').value = `+jsString(token)+`; document.querySelector('form').submit(); return true; })()`)
	}
	submit("brg_wrong")
	until(t, tab, 10*time.Second, "the refusal", `!!document.querySelector('[role=alert]') && document.querySelector('[role=alert]').innerText.includes('unknown or revoked')`)
	errs := collectConsoleErrors(tab) // from the good login on
	submit(viewer)
	until(t, tab, 15*time.Second, "the scenario page, filled from the API with the cookie",
		`location.pathname === '/ui/scenarios/`+ref.ScenarioID+`' && document.body.innerText.includes('behind-the-login')`)
	b.shot(t, tab, "after-login")
	if href := eval[string](t, tab, `location.href`); strings.Contains(href, viewer) {
		t.Errorf("the token is in the URL %s", href)
	}
	if ck := eval[string](t, tab, `document.cookie`); strings.Contains(ck, "brg_") {
		t.Errorf("a script can read the token: document.cookie = %q", ck)
	}
	if history := eval[string](t, tab, `JSON.stringify(performance.getEntriesByType('navigation').map(e => e.name))`); strings.Contains(history, viewer) {
		t.Errorf("the token is in a navigation: %s", history)
	}
	for _, e := range errs() {
		if !strings.Contains(e, "status of 404") { // the browser's own /favicon.ico
			t.Errorf("console error: %s", e)
		}
	}
}
