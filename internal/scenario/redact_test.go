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
