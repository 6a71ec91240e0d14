package api

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// The handler tests hold their responses to api/openapi.json with
// checkResponse, as e2e does for a whole server: a handler and the document
// that drift apart fail the handler's own test.

var openAPIRouter struct {
	once   sync.Once
	router routers.Router
	err    error
}

// contractRouter loads the embedded document once per test binary.
func contractRouter() (routers.Router, error) {
	openAPIRouter.once.Do(func() {
		doc, err := openapi3.NewLoader().LoadFromData(openAPI)
		if err != nil {
			openAPIRouter.err = fmt.Errorf("load api/openapi.json: %w", err)
			return
		}
		// The document is checked as the text it documents for these; kin
		// decodes JSON, plain text and octet streams itself. Registered here,
		// under the Once, because the registry is a global map.
		for _, typ := range []string{"text/html", "text/css", "text/javascript", "text/event-stream", "application/xml", "application/pdf"} {
			openapi3filter.RegisterBodyDecoder(typ, func(r io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
				b, err := io.ReadAll(r)
				return string(b), err
			})
		}
		openAPIRouter.router, openAPIRouter.err = legacy.NewRouter(doc)
	})
	return openAPIRouter.router, openAPIRouter.err
}

// checkResponse fails t unless the response — status, headers and body — is
// one the document allows for method and path (path may carry a query).
func checkResponse(t *testing.T, method, path string, status int, header http.Header, body []byte) {
	t.Helper()
	if err := validateResponse(method, path, status, header, body); err != nil {
		t.Errorf("%s %s → %d does not match api/openapi.json: %v", method, path, status, err)
	}
}

// validateResponse is checkResponse's verdict, for tests that expect a
// response to be refused.
func validateResponse(method, path string, status int, header http.Header, body []byte) error {
	router, err := contractRouter()
	if err != nil {
		return err
	}
	req := httptest.NewRequest(method, path, nil)
	route, params, err := router.FindRoute(req)
	if err != nil {
		return fmt.Errorf("no operation: %w", err)
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts},
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                opts,
	}
	return openapi3filter.ValidateResponse(context.Background(), in)
}

// TestCheckResponseRefusesWhatTheDocumentDoesNot: a checker that accepts
// anything proves nothing.
func TestCheckResponseRefusesWhatTheDocumentDoesNot(t *testing.T) {
	jsonHeader := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	tests := []struct {
		name         string
		method, path string
		status       int
		header       http.Header
		body         string
		want         string // a substring of the error; "" for none
	}{
		{name: "a documented error", method: "GET", path: "/runs/nope/events", status: 404, header: jsonHeader,
			body: `{"error": {"code": "not_found", "message": "no run nope"}}`},
		{name: "a field of the wrong type", method: "GET", path: "/runs/r1/events", status: 200, header: jsonHeader,
			body: `{"events": [{"t": "soon", "kind": "started", "detail": ""}]}`, want: `"/events/0/t": value must be a number`},
		{name: "a required field missing", method: "GET", path: "/runs/nope/events", status: 404, header: jsonHeader,
			body: `{"error": {"message": "no run nope"}}`, want: `"code"`},
		{name: "not JSON", method: "GET", path: "/runs/r1/events", status: 200, header: jsonHeader,
			body: `events: []`, want: "decod"},
		{name: "an undocumented status", method: "GET", path: "/runs/r1/events", status: 418, header: jsonHeader,
			body: `{}`, want: "status is not supported"},
		{name: "an undocumented content type", method: "GET", path: "/runs/r1/events", status: 200,
			header: http.Header{"Content-Type": {"text/csv"}}, body: "t,kind\n", want: "Content-Type"},
		{name: "an undocumented path", method: "GET", path: "/nothing/here", status: 200, header: jsonHeader,
			body: `{}`, want: "no operation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validateResponse(tt.method, tt.path, tt.status, tt.header, []byte(tt.body))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && err == nil:
				t.Fatalf("accepted; want an error containing %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Fatalf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}
