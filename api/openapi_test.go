package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/barrage/barrage/internal/store"
)

// openAPIMethods are the operation keys of an OpenAPI path item.
var openAPIMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// openAPIDoc is the part of the document the tests read; the rest is walked
// as plain JSON.
type openAPIDoc struct {
	OpenAPI    string                                `json:"openapi"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Parameters map[string]openAPIParam `json:"parameters"`
	} `json:"components"`
}

type openAPIParam struct {
	Ref      string `json:"$ref"`
	Name     string `json:"name"`
	In       string `json:"in"`
	Required bool   `json:"required"`
}

type openAPIOperation struct {
	OperationID string                     `json:"operationId"`
	Summary     string                     `json:"summary"`
	Parameters  []openAPIParam             `json:"parameters"`
	Responses   map[string]json.RawMessage `json:"responses"`
}

func loadOpenAPI(t *testing.T) *openAPIDoc {
	t.Helper()
	var doc openAPIDoc
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	return &doc
}

// newOpenAPITestServer builds the real router on a fresh SQLite store. No
// handler runs, so there is no Temporal client.
func newOpenAPITestServer(t *testing.T) *Server {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	s := New(Config{Store: st})
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
	for path, item := range doc.Paths {
		for key := range item {
			if slices.Contains(openAPIMethods, key) {
				documented[strings.ToUpper(key)+" "+path] = true
			}
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

// templateParam matches a path template's parameters, {name}.
var templateParam = regexp.MustCompile(`\{([^{}]+)\}`)

// TestOpenAPIDocumentIsValid checks what a generator or a client relies on:
// the version, unique operation IDs, declared path parameters and $refs that
// resolve.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	doc := loadOpenAPI(t)
	if !strings.HasPrefix(doc.OpenAPI, "3.0.") {
		t.Errorf("openapi = %q, want 3.0.x", doc.OpenAPI)
	}
	if len(doc.Paths) == 0 {
		t.Fatal("openapi.json has no paths")
	}

	ids := map[string]string{}
	for path, item := range doc.Paths {
		var shared []openAPIParam
		if raw, ok := item["parameters"]; ok {
			if err := json.Unmarshal(raw, &shared); err != nil {
				t.Errorf("%s: parameters: %v", path, err)
			}
		}
		for _, method := range openAPIMethods {
			raw, ok := item[method]
			if !ok {
				continue
			}
			where := strings.ToUpper(method) + " " + path
			var op openAPIOperation
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Errorf("%s: %v", where, err)
				continue
			}
			switch prev, dup := ids[op.OperationID]; {
			case op.OperationID == "":
				t.Errorf("%s: no operationId", where)
			case dup:
				t.Errorf("%s: operationId %q is also used by %s", where, op.OperationID, prev)
			default:
				ids[op.OperationID] = where
			}
			if op.Summary == "" {
				t.Errorf("%s: no summary", where)
			}
			if len(op.Responses) == 0 {
				t.Errorf("%s: no responses", where)
			}
			checkPathParams(t, doc, where, path, append(slices.Clone(shared), op.Parameters...))
		}
	}

	var root any
	if err := json.Unmarshal(openAPI, &root); err != nil {
		t.Fatal(err)
	}
	for _, ref := range collectRefs(root, "#", nil) {
		if _, err := resolvePointer(root, ref.target); err != nil {
			t.Errorf("$ref %q at %s: %v", ref.target, ref.at, err)
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

// checkPathParams requires every {name} of a path template to be declared
// as a required path parameter, and every declared path parameter to be in
// the template.
func checkPathParams(t *testing.T, doc *openAPIDoc, where, path string, params []openAPIParam) {
	t.Helper()
	declared := map[string]bool{}
	for _, p := range params {
		if name, ok := strings.CutPrefix(p.Ref, "#/components/parameters/"); ok {
			p = doc.Components.Parameters[name] // an unresolved $ref fails the $ref check
		}
		if p.In != "path" {
			continue
		}
		if !p.Required {
			t.Errorf("%s: path parameter %q must be required", where, p.Name)
		}
		declared[p.Name] = true
	}
	inTemplate := map[string]bool{}
	for _, m := range templateParam.FindAllStringSubmatch(path, -1) {
		inTemplate[m[1]] = true
		if !declared[m[1]] {
			t.Errorf("%s: path parameter {%s} is not declared", where, m[1])
		}
	}
	for name := range declared {
		if !inTemplate[name] {
			t.Errorf("%s: path parameter %q is declared but not in the path", where, name)
		}
	}
}

type jsonRef struct{ at, target string }

// collectRefs returns every $ref under v, with the JSON pointer of where it is.
func collectRefs(v any, at string, out []jsonRef) []jsonRef {
	switch v := v.(type) {
	case map[string]any:
		if ref, ok := v["$ref"].(string); ok {
			out = append(out, jsonRef{at: at, target: ref})
		}
		for k, child := range v {
			out = collectRefs(child, at+"/"+escapePointer(k), out)
		}
	case []any:
		for i, child := range v {
			out = collectRefs(child, fmt.Sprintf("%s/%d", at, i), out)
		}
	}
	return out
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// resolvePointer follows a local reference, "#/a/b~1c", in root.
func resolvePointer(root any, ref string) (any, error) {
	rest, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil, fmt.Errorf("not a reference within the document")
	}
	if rest == "" {
		return root, nil
	}
	cur := root
	for _, tok := range strings.Split(strings.TrimPrefix(rest, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%q is not inside an object", tok)
		}
		if cur, ok = obj[tok]; !ok {
			return nil, fmt.Errorf("no %q", tok)
		}
	}
	return cur, nil
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
