package engine

import (
	"compress/gzip"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// bodyServer parses what arrives the way a real application would and
// notes, per path, every body it could not read as the step promised.
type bodyServer struct {
	mu   sync.Mutex
	got  map[string][]string
	errs []string
}

func (b *bodyServer) note(path, what string) {
	b.mu.Lock()
	b.got[path] = append(b.got[path], what)
	b.mu.Unlock()
}

func (b *bodyServer) fail(what string) {
	b.mu.Lock()
	if len(b.errs) < 10 {
		b.errs = append(b.errs, what)
	}
	b.mu.Unlock()
}

func (b *bodyServer) handle(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/form":
		if err := r.ParseForm(); err != nil || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			b.fail("form: " + r.Header.Get("Content-Type"))
			return
		}
		b.note("/form", r.PostForm.Get("user")+"|"+r.PostForm.Get("pass")+"|"+r.PostForm.Get("vu"))
	case "/upload":
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			b.fail("multipart: " + err.Error())
			return
		}
		f, hdr, err := r.FormFile("doc")
		if err != nil {
			b.fail("multipart file: " + err.Error())
			return
		}
		data, _ := io.ReadAll(f)
		b.note("/upload", r.FormValue("title")+"|"+hdr.Filename+"|"+hdr.Header.Get("Content-Type")+"|"+string(data))
	case "/gz", "/gzform":
		if r.Header.Get("Content-Encoding") != "gzip" {
			b.fail("no Content-Encoding")
			return
		}
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			b.fail("gzip: " + err.Error())
			return
		}
		data, err := io.ReadAll(zr)
		if err != nil {
			b.fail("gzip body: " + err.Error())
			return
		}
		b.note(r.URL.Path, string(data))
	}
}

func TestBodiesArriveAsSent(t *testing.T) {
	bs := &bodyServer{got: map[string][]string{}}
	srv := newCountingServer(t, bs.handle)
	p := plan(t, `name: bodies
virtual_users: 2
duration_seconds: 0.3
variables: {user: "ann lee"}
steps:
  - name: form
    method: POST
    url_template: /form
    form: {user: "{{ user }}", pass: "a&b=c d", vu: "{{ $vu }}"}
  - name: upload
    method: POST
    url_template: /upload
    multipart:
      fields: {title: "vu {{ $vu }}"}
      files: [{field: doc, filename: a.txt, content_type: text/plain, data_base64: aGVsbG8K}]
  - name: gz-static
    method: PUT
    url_template: /gz
    body_template: '{"static": true}'
    gzip: true
  - name: gz-form
    method: POST
    url_template: /gzform
    form: {n: "{{ $iteration }}"}
    gzip: true
`)
	run(t, Config{Plan: p, BaseURL: srv.URL})
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if len(bs.errs) > 0 {
		t.Fatalf("the server could not read bodies: %v", bs.errs)
	}
	for path, check := range map[string]func(string) bool{
		"/form": func(s string) bool { return vuNumber(strings.TrimPrefix(s, "ann lee|a&b=c d|")) },
		"/upload": func(s string) bool {
			return vuNumber(strings.TrimSuffix(strings.TrimPrefix(s, "vu "), "|a.txt|text/plain|hello\n"))
		},
		"/gz":     func(s string) bool { return s == `{"static": true}` },
		"/gzform": func(s string) bool { return strings.HasPrefix(s, "n=") && len(s) > 2 },
	} {
		got := bs.got[path]
		if len(got) == 0 {
			t.Errorf("%s: nothing arrived", path)
		}
		for _, g := range got {
			if !check(g) {
				t.Errorf("%s: got %q", path, g)
				break
			}
		}
	}
}

// vuNumber: s is a VU's number, what {{ $vu }} renders.
func vuNumber(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 0 && n < 100
}
