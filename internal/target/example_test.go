package target_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/barrage/barrage/internal/target"
)

func Example() {
	s, err := target.New(target.Config{ErrorRate: 0})
	if err != nil {
		panic(err)
	}
	ts := httptest.NewServer(s)
	defer ts.Close()

	for _, path := range []string{"/", "/status/404", "/_/stats"} {
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		fmt.Println(path, resp.StatusCode)
	}
	fmt.Println("served:", s.Served(), s.Stats().ByStatus)
	// Output:
	// / 200
	// /status/404 404
	// /_/stats 200
	// served: 2 map[200:1 404:1]
}
