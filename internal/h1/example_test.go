package h1_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/barrage/barrage/internal/h1"
)

func Example() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Target", r.URL.RequestURI())
		io.WriteString(w, "hello")
	}))
	defer srv.Close()

	// 1. One client per run.
	c := h1.New(h1.Options{})
	defer c.Close()

	// 2. Each virtual user owns a Request and a Response and reuses them.
	req := &h1.Request{
		Addr:           strings.TrimPrefix(srv.URL, "http://"),
		Target:         "/greet?name=x",
		Deadline:       time.Now().Add(5 * time.Second),
		CaptureBody:    true,
		CaptureHeaders: true,
	}
	var resp h1.Response
	for range 3 {
		if err := c.Do(req, &resp); err != nil {
			fmt.Println("error:", err)
			return
		}
	}

	// 3. Read the results.
	fmt.Println(resp.Status, string(resp.Body), resp.Get("x-request-target"))
	dials, reuses := c.Stats()
	fmt.Println("dials:", dials, "reuses:", reuses)
	// Output:
	// 200 hello /greet?name=x
	// dials: 1 reuses: 2
}
