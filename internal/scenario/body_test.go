package scenario

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const bodiesYAML = `name: bodies
virtual_users: 1
duration_seconds: 1
trace: true
variables: {user: "ann lee", n: "3"}
steps:
  - name: login
    method: POST
    url_template: /login
    form: {user: "{{ user }}", pass: "a&b=c", n: "{{ n }}"}
  - name: upload
    method: POST
    url_template: /upload
    trace: false
    headers: {Content-Type: text/plain}
    multipart:
      fields: {title: "report {{ n }}"}
      files:
        - {field: doc, file: doc.txt, content_type: text/plain}
  - name: raw
    method: PUT
    url_template: /raw
    body_file: raw.bin
    gzip: true
`

func writeBodies(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range map[string]string{"s.yaml": bodiesYAML, "doc.txt": "hello\r\n--not a boundary", "raw.bin": "\x00\x01raw"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "s.yaml")
}

func TestBodiesLoadAndRender(t *testing.T) {
	s, err := LoadFile(writeBodies(t))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	// The files travel inline: the scenario's JSON parses without them.
	doc, err := s.JSON()
	if err != nil {
		t.Fatal(err)
	}
	s2, err := ParseJSON(doc)
	if err != nil {
		t.Fatalf("inline scenario does not parse: %v", err)
	}
	if s2.Steps[1].Multipart.Files[0].Filename != "doc.txt" || s2.Steps[2].BodyFile != "" {
		t.Fatalf("inlined: %+v %+v", s2.Steps[1].Multipart.Files[0], s2.Steps[2])
	}
	p, err := Compile(s2)
	if err != nil {
		t.Fatal(err)
	}
	env := &Env{Vars: p.InitialVars}
	login, upload, raw := p.Steps[0], p.Steps[1], p.Steps[2]
	if got := string(login.Payload.Append(nil, env)); got != "n=3&pass=a%26b%3Dc&user=ann+lee" {
		t.Errorf("form body = %q", got)
	}
	if login.Payload.ContentType != "application/x-www-form-urlencoded" || !login.Trace {
		t.Errorf("form: content type %q, trace %v", login.Payload.ContentType, login.Trace)
	}
	body := string(upload.Payload.Append(nil, env))
	ct := upload.Payload.ContentType
	_, boundary, _ := strings.Cut(ct, "boundary=")
	if !strings.HasPrefix(ct, "multipart/form-data; boundary=barrage-") || !strings.Contains(body, "report 3\r\n--"+boundary) ||
		!strings.Contains(body, `name="doc"; filename="doc.txt"`) || !strings.HasSuffix(body, "--"+boundary+"--\r\n") {
		t.Errorf("multipart %q:\n%s", ct, body)
	}
	if upload.Trace || hasHeader(upload.Headers, "Content-Type") {
		t.Errorf("upload: trace %v (step says false), headers %+v (multipart sets its own Content-Type)", upload.Trace, upload.Headers)
	}
	static, ok := raw.Payload.Static()
	if !ok || !bytes.Equal(static, []byte("\x00\x01raw")) || !raw.Gzip || raw.Payload.ContentType != "" {
		t.Errorf("body_file: %q static %v gzip %v", static, ok, raw.Gzip)
	}
}

func TestBodyErrors(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString([]byte("x"))
	for _, tc := range []struct {
		name, step, path, msg string
	}{
		{"two bodies", `body_template: "{}"` + "\n    form: {a: b}", "steps[0].form", "give only one of"},
		{"file over the API", "body_file: x.bin", "steps[0].body_file", "send the bytes inline as body_base64"},
		{"bad base64", "body_base64: '%%%'", "steps[0].body_base64", "not base64"},
		{"gzip without body", "gzip: true", "steps[0].gzip", "the step has none"},
		{"gzip and Content-Encoding", "body_base64: " + b64 + "\n    gzip: true\n    headers: {Content-Encoding: br}", "steps[0].gzip", "remove the step's Content-Encoding"},
		{"empty multipart", "multipart: {}", "steps[0].multipart", "needs fields or files"},
		{"multipart file over the API", "multipart: {files: [{field: f, file: a.txt}]}", "steps[0].multipart.files[0].file", "data_base64"},
		{"multipart file without field", "multipart: {files: [{data_base64: " + b64 + "}]}", "steps[0].multipart.files[0].field", "needs a name"},
		{"form template", "form: {a: '{{ nope }}'}", "steps[0].form.a", "nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := "name: x\nvirtual_users: 1\nduration_seconds: 1\nsteps:\n  - url_template: /\n    " + tc.step + "\n"
			_, err := ParseYAML([]byte(doc))
			errs, ok := AsErrors(err)
			if !ok {
				t.Fatalf("want field errors, got %v", err)
			}
			for _, e := range errs {
				if e.Path == tc.path && strings.Contains(e.Msg, tc.msg) {
					return
				}
			}
			t.Fatalf("want %s: …%s…, got %v", tc.path, tc.msg, err)
		})
	}
}

func TestBodyFileTooLarge(t *testing.T) {
	path := writeBodies(t)
	big := bytes.Repeat([]byte("x"), MaxBodyFile+1)
	if err := os.WriteFile(filepath.Join(filepath.Dir(path), "raw.bin"), big, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadFile(path)
	if err == nil || !strings.Contains(err.Error(), "steps[2].body_file") || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("want a size error on steps[2].body_file, got %v", err)
	}
	if err := os.Remove(filepath.Join(filepath.Dir(path), "doc.txt")); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFile(path); err == nil || !strings.Contains(err.Error(), "steps[1].multipart.files[0].file") {
		t.Fatalf("want a missing-file error on the multipart file, got %v", err)
	}
}

func TestRedactedYAMLHidesFormSecretsAndFiles(t *testing.T) {
	s, err := LoadFile(writeBodies(t))
	if err != nil {
		t.Fatal(err)
	}
	s.Steps[0].Form["password"] = "hunter2"
	s.Steps[2].BodyBase64 = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("z"), 300))
	doc, err := s.JSON()
	if err != nil {
		t.Fatal(err)
	}
	y, err := RedactedYAML(doc)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(y, "hunter2") || !strings.Contains(y, "password: '"+Redacted+"'") || !strings.Contains(y, "400 characters of base64 not shown") ||
		!strings.Contains(y, "user: '{{ user }}'") {
		t.Fatalf("redacted YAML:\n%s", y)
	}
}
