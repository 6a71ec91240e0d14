package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/barrage/barrage/internal/store"
)

// loadOpenAPI parses the embedded document with kin-openapi.
func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(openAPI)
	if err != nil {
		t.Fatalf("load api/openapi.json: %v", err)
	}
	return doc
}

// newOpenAPITestServer builds the real router on a fresh SQLite store. No
// handler runs, so there is no Temporal client.
func newOpenAPITestServer(t *testing.T) *Server {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	s := New(Config{Store: st, NoAuth: true})
	t.Cleanup(func() {
		s.Close()
		_ = st.Close()
	})
	return s
}

// ginParam matches gin's path parameters, :name and *name.
var ginParam = regexp.MustCompile(`[:*]([A-Za-z0-9_]+)`)

// TestOpenAPICoversEveryRoute keeps openapi.json and the router in step:
// every route is documented and every documented operation is routed.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	s := newOpenAPITestServer(t)
	doc := loadOpenAPI(t)

	routed := map[string]bool{}
	for _, r := range s.router.Routes() {
		routed[r.Method+" "+ginParam.ReplaceAllString(r.Path, "{$1}")] = true
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}

	var undocumented, unrouted []string
	for op := range routed {
		if !documented[op] {
			undocumented = append(undocumented, op)
		}
	}
	for op := range documented {
		if !routed[op] {
			unrouted = append(unrouted, op)
		}
	}
	slices.Sort(undocumented)
	slices.Sort(unrouted)
	if len(undocumented) > 0 {
		t.Errorf("routes missing from api/openapi.json:\n  %s", strings.Join(undocumented, "\n  "))
	}
	if len(unrouted) > 0 {
		t.Errorf("operations in api/openapi.json that no route serves:\n  %s", strings.Join(unrouted, "\n  "))
	}
	if len(routed) == 0 {
		t.Fatal("the router has no routes")
	}
}

// TestOpenAPIDocumentIsValid holds the document to the OpenAPI 3.0 spec as
// kin-openapi reads it (unique operation IDs, declared path parameters,
// $refs that resolve, schemas and examples that agree), plus the house
// rules a generated client and the console's API page rely on.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	doc := loadOpenAPI(t)
	if !strings.HasPrefix(doc.OpenAPI, "3.0.") {
		t.Errorf("openapi = %q, want 3.0.x", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background(), openapi3.EnableMultiError()); err != nil {
		t.Errorf("api/openapi.json is not valid OpenAPI:\n%v", err)
	}
	if doc.Paths.Len() == 0 {
		t.Fatal("openapi.json has no paths")
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			// Optional in the spec, required here: a generated client names
			// its methods after operation IDs, and readers scan summaries.
			if op.OperationID == "" || op.Summary == "" {
				t.Errorf("%s %s: operationId %q, summary %q: want both", method, path, op.OperationID, op.Summary)
			}
		}
	}

	var compact, indented bytes.Buffer
	if err := json.Compact(&compact, openAPI); err != nil {
		t.Fatal(err)
	}
	if err := json.Indent(&indented, compact.Bytes(), "", "  "); err != nil {
		t.Fatal(err)
	}
	indented.WriteByte('\n')
	if !bytes.Equal(indented.Bytes(), openAPI) {
		t.Error("api/openapi.json is not formatted as JSON with 2-space indent and a final newline")
	}
}

func TestOpenAPIIsServed(t *testing.T) {
	s := newOpenAPITestServer(t)
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/openapi.json", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /openapi.json = %d, want 200: %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if !bytes.Equal(rec.Body.Bytes(), openAPI) {
		t.Errorf("GET /openapi.json served %d bytes that differ from the embedded openapi.json (%d bytes)", rec.Body.Len(), len(openAPI))
	}
}
