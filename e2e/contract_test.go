package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/barrage/barrage/api/client"
)

// Every response the e2e tests get from a server — through api/client or
// the raw requests of the bad-input tests — is checked against the OpenAPI
// document (kin-openapi): its route, status code, content type and body
// must be documented. A drift between the code and the document fails the
// suite (TestMain reports it once every test has run).

var contract struct {
	once       sync.Once
	router     routers.Router
	err        error
	mu         sync.Mutex
	violations map[string]int // what was wrong, and how often
	checked    int
}

func contractRouter() (routers.Router, error) {
	contract.once.Do(func() {
		b, err := os.ReadFile("../api/openapi.json")
		if err != nil {
			contract.err = err
			return
		}
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(b)
		if err != nil {
			contract.err = fmt.Errorf("openapi.json: %w", err)
			return
		}
		doc.Servers = nil // any host: the tests' servers listen on random ports
		// JUnit XML, the HTML report and its PDF are checked as the text
		// (or bytes) they are documented as.
		for _, typ := range []string{"application/xml", "text/html", "application/pdf"} {
			openapi3filter.RegisterBodyDecoder(typ, func(r io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
				b, err := io.ReadAll(r)
				return string(b), err
			})
		}
		contract.router, contract.err = legacy.NewRouter(doc)
	})
	return contract.router, contract.err
}

// checked is a RoundTripper that checks each response against the document.
type checked struct{ next http.RoundTripper }

func (c checked) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		reqBody, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	resp, err := c.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	check(req, reqBody, resp)
	return resp, nil
}

func check(req *http.Request, reqBody []byte, resp *http.Response) {
	router, err := contractRouter()
	if err != nil {
		violation("the OpenAPI document: %v", err)
		return
	}
	route, params, err := router.FindRoute(req)
	if err != nil {
		if resp.StatusCode == http.StatusNotFound {
			return // an undocumented path answered 404 not_found, as it should
		}
		violation("%s %s: not in the document (%v), answered %d", req.Method, req.URL.Path, err, resp.StatusCode)
		return
	}
	in := &openapi3filter.RequestValidationInput{Request: req.Clone(context.Background()), PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true}}
	in.Request.Body = io.NopCloser(bytes.NewReader(reqBody))
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		// A live stream: its status and content type are checked, not its
		// endless body.
		out.Options.ExcludeResponseBody = true
	} else {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		out.SetBodyBytes(body)
	}
	contract.mu.Lock()
	contract.checked++
	contract.mu.Unlock()
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		msg := err.Error()
		if i := strings.Index(msg, "\n"); i > 0 {
			msg = msg[:i]
		}
		violation("%s %s → %d: %s", req.Method, route.Path, resp.StatusCode, msg)
	}
}

func violation(format string, args ...any) {
	contract.mu.Lock()
	defer contract.mu.Unlock()
	if contract.violations == nil {
		contract.violations = map[string]int{}
	}
	contract.violations[fmt.Sprintf(format, args...)]++
}

// contractReport prints what was off and tells whether anything was.
func contractReport() bool {
	contract.mu.Lock()
	defer contract.mu.Unlock()
	fmt.Printf("e2e: %d responses checked against the OpenAPI document\n", contract.checked)
	if len(contract.violations) == 0 {
		return true
	}
	var lines []string
	for v, n := range contract.violations {
		lines = append(lines, fmt.Sprintf("  %s (×%d)", v, n))
	}
	sort.Strings(lines)
	fmt.Printf("e2e: responses that differ from the OpenAPI document:\n%s\n", strings.Join(lines, "\n"))
	return false
}

// apiClient is a client whose responses are checked.
func apiClient(base string) (*client.Client, error) {
	return client.NewWithTransport(base, checked{next: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 16}})
}

// checkedHTTP is http.DefaultClient, checked.
var checkedHTTP = &http.Client{Transport: checked{next: http.DefaultTransport}}
