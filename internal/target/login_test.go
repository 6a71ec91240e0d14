package target

import (
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"strings"
	"testing"
)

func TestLoginFlow(t *testing.T) {
	_, ts := startTarget(t, Config{})
	login := call(t, ts.Client(), "POST", ts.URL+"/login", `{"user":"ann","password":"secret"}`, nil)
	if login.code != 200 {
		t.Fatalf("login: %d %q", login.code, login.body)
	}
	sess := decode[session](t, login.body)
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(sess.Token) || sess.User != "ann" {
		t.Fatalf("login = %+v, want a 32-hex-digit token for ann", sess)
	}
	again := decode[session](t, call(t, ts.Client(), "POST", ts.URL+"/login", `{"user":"ann","password":"secret"}`, nil).body)
	if again.Token == sess.Token {
		t.Errorf("two logins got the same token %q", sess.Token)
	}

	tests := []struct {
		name      string
		method    string
		path      string
		body      string
		auth      string
		wantCode  int
		wantBody  string
		wantChall bool // WWW-Authenticate expected
	}{
		{name: "me with token", method: "GET", path: "/me", auth: "Bearer " + sess.Token, wantCode: 200, wantBody: `{"user":"ann"}`},
		{name: "me without header", method: "GET", path: "/me", wantCode: 401, wantBody: "missing Authorization", wantChall: true},
		{name: "me with unknown token", method: "GET", path: "/me", auth: "Bearer 00112233445566778899aabbccddeeff", wantCode: 401, wantBody: "unknown or expired token", wantChall: true},
		{name: "me with basic auth", method: "GET", path: "/me", auth: "Basic YW5uOnNlY3JldA==", wantCode: 401, wantChall: true},
		{name: "login bad JSON", method: "POST", path: "/login", body: `{"user":`, wantCode: 400, wantBody: "body must be JSON"},
		{name: "login empty body", method: "POST", path: "/login", wantCode: 400, wantBody: "body must be JSON"},
		{name: "login missing password", method: "POST", path: "/login", body: `{"user":"ann"}`, wantCode: 400, wantBody: "user and password are both required"},
		{name: "login missing user", method: "POST", path: "/login", body: `{"password":"secret"}`, wantCode: 400, wantBody: "user and password are both required"},
		{name: "login wrong password", method: "POST", path: "/login", body: `{"user":"ann","password":"hunter2"}`, wantCode: 401, wantBody: "wrong password"},
		{name: "login wrong type", method: "POST", path: "/login", body: `{"user":1,"password":"secret"}`, wantCode: 400, wantBody: "body must be JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			header := http.Header{}
			if tt.auth != "" {
				header.Set("Authorization", tt.auth)
			}
			got := call(t, ts.Client(), tt.method, ts.URL+tt.path, tt.body, header)
			if got.code != tt.wantCode || !strings.Contains(string(got.body), tt.wantBody) {
				t.Errorf("%s %s = %d %q, want %d containing %q", tt.method, tt.path, got.code, got.body, tt.wantCode, tt.wantBody)
			}
			if chall := got.header.Get("WWW-Authenticate") != ""; chall != tt.wantChall {
				t.Errorf("WWW-Authenticate present = %v, want %v", chall, tt.wantChall)
			}
		})
	}
}

func TestTokensAreBounded(t *testing.T) {
	_, ts := startTarget(t, Config{MaxTokens: 2})
	var tokens []string
	for range 3 {
		got := call(t, ts.Client(), "POST", ts.URL+"/login", `{"user":"bob","password":"secret"}`, nil)
		tokens = append(tokens, decode[session](t, got.body).Token)
	}
	wantCodes := []int{401, 200, 200} // the oldest token is forgotten
	for i, token := range tokens {
		got := call(t, ts.Client(), "GET", ts.URL+"/me", "", http.Header{"Authorization": {"Bearer " + token}})
		if got.code != wantCodes[i] {
			t.Errorf("token %d: /me = %d, want %d", i, got.code, wantCodes[i])
		}
	}
}

func TestCookieJarRoundTrip(t *testing.T) {
	_, ts := startTarget(t, Config{})
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Jar: jar, Transport: ts.Client().Transport}
	set := call(t, client, "GET", ts.URL+"/cookie/set?session=abc&theme=dark", "", nil)
	if set.code != 200 || len(set.header.Values("Set-Cookie")) != 2 {
		t.Fatalf("cookie/set = %d %q with Set-Cookie %q", set.code, set.body, set.header.Values("Set-Cookie"))
	}
	got := decode[map[string]map[string]string](t, call(t, client, "GET", ts.URL+"/cookie/get", "", nil).body)
	if c := got["cookies"]; c["session"] != "abc" || c["theme"] != "dark" || len(c) != 2 {
		t.Errorf("cookie/get = %v, want session=abc and theme=dark", got)
	}
	// A client without the jar carries nothing: the jar, not the server, holds state.
	bare := decode[map[string]map[string]string](t, call(t, ts.Client(), "GET", ts.URL+"/cookie/get", "", nil).body)
	if len(bare["cookies"]) != 0 {
		t.Errorf("cookie/get without a jar = %v, want none", bare)
	}
}

func TestRedirectsAreEachCounted(t *testing.T) {
	s, ts := startTarget(t, Config{})
	noFollow := &http.Client{
		Transport:     ts.Client().Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	tests := []struct {
		path         string
		wantLocation string
	}{
		{path: "/redirect/3", wantLocation: "/redirect/2"},
		{path: "/redirect/2", wantLocation: "/redirect/1"},
		{path: "/redirect/1", wantLocation: "/"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got := call(t, noFollow, "GET", ts.URL+tt.path, "", nil)
			if got.code != http.StatusFound || got.header.Get("Location") != tt.wantLocation {
				t.Errorf("GET %s = %d to %q, want 302 to %q", tt.path, got.code, got.header.Get("Location"), tt.wantLocation)
			}
		})
	}
	s.Reset()
	if got := call(t, ts.Client(), "GET", ts.URL+"/redirect/5", "", nil); got.code != 200 {
		t.Fatalf("following /redirect/5 ended with %d", got.code)
	}
	if st := s.Stats(); st.ByStatus[302] != 5 || st.ByStatus[200] != 1 {
		t.Errorf("after following /redirect/5: %v, want 5 × 302 and 1 × 200", st.ByStatus)
	}
}
