package scenario

import (
	"strings"
	"testing"
)

func TestRedactedYAML(t *testing.T) {
	doc := `{"name":"</script><img src=x onerror=alert(1)>","variables":{"api_token":"s3cr3t-var","region":"eu"},
	"feeders":[{"name":"users","data":[{"user":"a","password":"p1"},{"user":"b","password":"p2"},{"user":"c","password":"p3"},
	{"user":"d","password":"p4"},{"user":"e","password":"p5"},{"user":"f","password":"p6"},{"user":"g","password":"p7"}]}],
	"steps":[{"name":"login","method":"POST","url_template":"/login?token=abc",
	"headers":{"Authorization":"Bearer hunter2","X-Trace":"on","Cookie":"{{ session }}"},
	"body_template":"{\"user\":\"{{ users.user }}\",\"password\":\"literal-pw\",\"client_secret\":\"{{ cs }}\"}"}]}`
	out, err := RedactedYAML([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	for _, leaked := range []string{"s3cr3t-var", "hunter2", "literal-pw", "abc", "p1", "p6"} {
		if strings.Contains(out, leaked) {
			t.Errorf("%q leaked:\n%s", leaked, out)
		}
	}
	for _, kept := range []string{"region: eu", "X-Trace: on", "{{ session }}", "{{ cs }}", "{{ users.user }}", "user: a",
		"2 more records not shown", "name: login", "</script><img src=x onerror=alert(1)>"} {
		if !strings.Contains(out, kept) {
			t.Errorf("%q missing:\n%s", kept, out)
		}
	}
	if strings.Contains(out, "{\"name\"") || strings.HasPrefix(out, "{") {
		t.Errorf("still in flow style:\n%s", out)
	}
	if _, err := RedactedYAML([]byte("{not json")); err == nil {
		t.Error("malformed document: no error")
	}
}

// TestRedactedYAMLNames: secret names as people write them, and names that
// only look like them.
func TestRedactedYAMLNames(t *testing.T) {
	doc := `{"name":"n","variables":{"pwd":"v-pwd","apiKey":"v-apikey","keyboard":"layout-us","author":"ann","passenger":"bob","tok":"v-tok-by-ref"},
	"steps":[{"name":"s","url_template":"https://alice:hunter2@api.example/x?key=AIzaKEY&X-Amz-Signature=abc123&page=2&sig={{ s }}",
	"headers":{"X-Auth-Token":"h-auth","Ocp-Apim-Subscription-Key":"h-sub","X-Access-Key":"h-access","Authorization":"Bearer {{ tok }}",
	  "X-Api-Key":"sk_live_123{{ suffix }}","Accept":"application/json"},
	"body_template":"{\"session\":\"b-session\",\"private_key\":\"b-pk\",\"authorization\":\"b-authz\",\"user\":\"u1\"}"}]}`
	out, err := RedactedYAML([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	for _, leaked := range []string{"v-pwd", "v-apikey", "hunter2", "alice", "AIzaKEY", "abc123", "h-auth", "h-sub", "h-access", "sk_live_123", "b-session", "b-pk", "b-authz", "v-tok-by-ref"} {
		if strings.Contains(out, leaked) {
			t.Errorf("%q leaked:\n%s", leaked, out)
		}
	}
	for _, kept := range []string{"layout-us", "ann", "bob", "page=2", "sig={{ s }}", "Bearer {{ tok }}", "application/json", "u1"} {
		if !strings.Contains(out, kept) {
			t.Errorf("%q redacted, though not a secret:\n%s", kept, out)
		}
	}
}
