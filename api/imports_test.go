package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/barrage/barrage/api/client"
	"github.com/barrage/barrage/internal/importer"
	"github.com/barrage/barrage/internal/scenario"
	"github.com/barrage/barrage/internal/wire"
)

// The importers' inputs: the importer package's own test recordings.
const (
	demoHAR   = "../internal/importer/testdata/har/barrage-demo.har"
	petstore  = "../internal/importer/testdata/openapi/petstore.yaml"
	petstoreJ = "../internal/importer/testdata/openapi/petstore-expanded.json"
)

func readTestdata(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// padded is a JSON document grown to n bytes with trailing whitespace,
// which JSON allows.
func padded(doc string, n int) string {
	return doc + strings.Repeat(" ", max(0, n-len(doc)))
}

// importCases: the fixture's MaxBody is 64 KiB and its MaxImportBody
// 256 KiB, so that a recording over the first and under the second shows
// the importers' own limit.
func importCases(_ *handlerFixture) []handlerCase {
	har, spec := readTestdata(demoHAR), readTestdata(petstore)
	jsonAccept := http.Header{"Accept": {"application/json"}}
	return []handlerCase{
		{route: "POST /import/har", method: "POST", path: "/import/har", body: har, status: 200,
			check: sameAsCLI(func() (*importer.Result, error) { return importer.HAR([]byte(har), importer.HAROptions{}) })},
		{route: "POST /import/har", name: "options, as JSON", method: "POST", path: "/import/har?name=shop&vus=3&duration=2m&keep_static=true&keep_other_origins=1",
			body: har, header: jsonAccept, status: 200,
			check: func(t *testing.T, _ *handlerFixture, rec *httptest.ResponseRecorder) {
				sc, res := importJSON(t, rec)
				want, err := importer.HAR([]byte(har), importer.HAROptions{Name: "shop", VUs: 3, Duration: 2 * time.Minute, KeepStatic: true, KeepOtherOrigins: true})
				if err != nil {
					t.Fatal(err)
				}
				plain, err := importer.HAR([]byte(har), importer.HAROptions{})
				if err != nil {
					t.Fatal(err)
				}
				if sc.Name != "shop" || sc.VirtualUsers != 3 || sc.DurationSeconds != 120 || len(sc.Steps) != len(want.Scenario.Steps) ||
					len(sc.Steps) <= len(plain.Scenario.Steps) || len(res.Notes) != len(want.Notes) {
					t.Fatalf("imported %q, %d VUs, %gs, %d steps (%d without the options), %d notes; want shop, 3, 120, %d steps, %d notes",
						sc.Name, sc.VirtualUsers, sc.DurationSeconds, len(sc.Steps), len(plain.Scenario.Steps), len(res.Notes), len(want.Scenario.Steps), len(want.Notes))
				}
			}},
		{route: "POST /import/har", name: "over MaxBody, under the import limit", method: "POST", path: "/import/har?format=json", body: padded(har, 100<<10), status: 200},
		{route: "POST /import/har", name: "over the import limit", method: "POST", path: "/import/har", body: padded(har, 300<<10), status: 413, code: "too_large"},
		{route: "POST /import/har", name: "not JSON", method: "POST", path: "/import/har", body: `{"log": {"entries": [`, status: 422, code: "invalid_har", check: bodyHas("not a HAR file")},
		{route: "POST /import/har", name: "no entries", method: "POST", path: "/import/har", body: `{"log": {"entries": []}}`, status: 422, code: "invalid_har", check: bodyHas("nothing to import")},
		{route: "POST /import/har", name: "an origin not recorded", method: "POST", path: "/import/har?origin=https://elsewhere.example", body: har, status: 422, code: "invalid_har"},
		{route: "POST /import/har", name: "no body", method: "POST", path: "/import/har", body: "", status: 400, code: "missing_body"},
		{route: "POST /import/har", name: "the CLI's flag spelling", method: "POST", path: "/import/har?keep-static=true", body: har, status: 400, code: "bad_query", field: "keep-static",
			check: bodyHas("did you mean keep_static?")},
		{route: "POST /import/har", name: "the other importer's option", method: "POST", path: "/import/har?all_methods=true", body: har, status: 400, code: "bad_query", field: "all_methods"},
		{route: "POST /import/har", name: "bad boolean", method: "POST", path: "/import/har?keep_static=maybe", body: har, status: 400, code: "bad_query", field: "keep_static"},
		{route: "POST /import/har", name: "bad vus", method: "POST", path: "/import/har?vus=0", body: har, status: 400, code: "bad_query", field: "vus"},
		{route: "POST /import/har", name: "bad duration", method: "POST", path: "/import/har?duration=forever", body: har, status: 400, code: "bad_query", field: "duration"},
		{route: "POST /import/har", name: "duration over the scenario's limit", method: "POST", path: "/import/har?duration=200h", body: har, status: 400, code: "bad_query", field: "duration"},
		{route: "POST /import/har", name: "name too long", method: "POST", path: "/import/har?name=" + strings.Repeat("n", 201), body: har, status: 400, code: "bad_query", field: "name"},
		{route: "POST /import/har", name: "bad format", method: "POST", path: "/import/har?format=xml", body: har, status: 400, code: "bad_query", field: "format"},

		{route: "POST /import/openapi", method: "POST", path: "/import/openapi", body: spec, status: 200,
			check: sameAsCLI(func() (*importer.Result, error) { return importer.OpenAPI([]byte(spec), importer.OpenAPIOptions{}) })},
		{route: "POST /import/openapi", name: "every method, as JSON", method: "POST", path: "/import/openapi?all_methods=true&format=json", body: spec, status: 200,
			check: func(t *testing.T, _ *handlerFixture, rec *httptest.ResponseRecorder) {
				sc, _ := importJSON(t, rec)
				want, err := importer.OpenAPI([]byte(spec), importer.OpenAPIOptions{AllMethods: true})
				if err != nil {
					t.Fatal(err)
				}
				gets, err := importer.OpenAPI([]byte(spec), importer.OpenAPIOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if len(sc.Steps) != len(want.Scenario.Steps) || len(sc.Steps) <= len(gets.Scenario.Steps) {
					t.Fatalf("%d steps, want %d (%d GETs only)", len(sc.Steps), len(want.Scenario.Steps), len(gets.Scenario.Steps))
				}
			}},
		{route: "POST /import/openapi", name: "JSON document", method: "POST", path: "/import/openapi", body: readTestdata(petstoreJ), header: jsonAccept, status: 200,
			check: func(t *testing.T, _ *handlerFixture, rec *httptest.ResponseRecorder) { importJSON(t, rec) }},
		{route: "POST /import/openapi", name: "malformed", method: "POST", path: "/import/openapi", body: "openapi: [3.0", status: 422, code: "invalid_openapi"},
		{route: "POST /import/openapi", name: "a HAR", method: "POST", path: "/import/openapi", body: har, status: 422, code: "invalid_openapi"},
		{route: "POST /import/openapi", name: "the other importer's option", method: "POST", path: "/import/openapi?keep_static=true", body: spec, status: 400, code: "bad_query", field: "keep_static"},
		{route: "POST /import/openapi", name: "blank body", method: "POST", path: "/import/openapi", body: " \n", status: 400, code: "missing_body"},
	}
}

// sameAsCLI checks a YAML answer: what barrage import writes for the same
// input and options, byte for byte, and a scenario that validates.
func sameAsCLI(want func() (*importer.Result, error)) func(*testing.T, *handlerFixture, *httptest.ResponseRecorder) {
	return func(t *testing.T, _ *handlerFixture, rec *httptest.ResponseRecorder) {
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/yaml") {
			t.Fatalf("Content-Type %q, want application/yaml", ct)
		}
		res, err := want()
		if err != nil {
			t.Fatal(err)
		}
		doc, err := res.YAML()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(rec.Body.Bytes(), doc) {
			t.Fatalf("the API's YAML differs from the CLI's:\n%s\n---\n%s", rec.Body, doc)
		}
		sc, err := scenario.ParseYAML(rec.Body.Bytes())
		if err == nil {
			_, err = scenario.Compile(sc)
		}
		if err != nil || len(sc.Steps) == 0 || !bytes.HasPrefix(rec.Body.Bytes(), []byte("# ")) {
			t.Fatalf("the YAML answer: %v, or no steps, or no notes as comments:\n%s", err, rec.Body)
		}
	}
}

// importJSON decodes a JSON answer and checks that its scenario validates.
func importJSON(t *testing.T, rec *httptest.ResponseRecorder) (*scenario.Scenario, wire.ImportResult) {
	t.Helper()
	var res wire.ImportResult
	mustJSON(t, rec, &res)
	sc, err := scenario.ParseJSON(res.Scenario)
	if err == nil {
		_, err = scenario.Compile(sc)
	}
	if err != nil {
		t.Fatalf("the JSON answer's scenario: %v", err)
	}
	for _, n := range res.StepNotes {
		if n.Step < 0 || n.Step >= len(sc.Steps) || sc.Steps[n.Step].Name != n.Name || n.Note == "" {
			t.Fatalf("step note %+v does not name a step of %d", n, len(sc.Steps))
		}
	}
	return sc, res
}

// contractTransport checks every answer the typed client gets against
// api/openapi.json.
type contractTransport struct{ t *testing.T }

func (c contractTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	checkResponse(c.t, req.Method, req.URL.RequestURI(), resp.StatusCode, resp.Header, body)
	return resp, nil
}

// TestImportThroughTheClient imports over real HTTP with the typed client,
// as a runner: the JSON answer's scenario is stored by POST /scenarios as
// it is, the YAML answers are the CLI's, and a refusal is a typed error.
func TestImportThroughTheClient(t *testing.T) {
	f := newFixture(t, false)
	tok, _, err := f.s.access.CreateToken(t.Context(), "importer", "runner", "test")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(f.s.Handler())
	defer srv.Close()
	c, err := client.NewWithTransport(srv.URL, contractTransport{t})
	if err != nil {
		t.Fatal(err)
	}
	c = c.WithToken(tok)
	ctx := t.Context()
	har, spec := []byte(readTestdata(demoHAR)), []byte(readTestdata(petstore))

	res, err := c.ImportHAR(ctx, har, client.HARImport{ImportOptions: client.ImportOptions{Name: "from-the-api", VUs: 2, Duration: 30 * time.Second}, KeepStatic: true})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := c.CreateScenario(ctx, res.Scenario)
	if err != nil {
		t.Fatalf("store the imported scenario: %v", err)
	}
	list, err := c.ListScenarios(ctx)
	if err != nil || !containsScenario(list, ref.ScenarioID, "from-the-api") {
		t.Fatalf("scenarios %+v (%v), want %s named from-the-api", list, err, ref.ScenarioID)
	}

	want, err := importer.HAR(har, importer.HAROptions{Origin: "http://127.0.0.1:42701"})
	if err != nil {
		t.Fatal(err)
	}
	wantYAML, _ := want.YAML()
	got, err := c.ImportHARYAML(ctx, har, client.HARImport{Origin: "http://127.0.0.1:42701"})
	if err != nil || !bytes.Equal(got, wantYAML) {
		t.Fatalf("ImportHARYAML: %v\n%s", err, got)
	}

	wantSpec, err := importer.OpenAPI(spec, importer.OpenAPIOptions{AllMethods: true})
	if err != nil {
		t.Fatal(err)
	}
	specRes, err := c.ImportOpenAPI(ctx, spec, client.OpenAPIImport{AllMethods: true})
	if err != nil {
		t.Fatal(err)
	}
	wantDoc, _ := wantSpec.Scenario.JSON()
	if !jsonEqual(specRes.Scenario, wantDoc) {
		t.Fatalf("ImportOpenAPI's scenario differs from the importer's:\n%s\n---\n%s", specRes.Scenario, wantDoc)
	}
	wantSpecYAML, _ := wantSpec.YAML()
	if got, err := c.ImportOpenAPIYAML(ctx, spec, client.OpenAPIImport{AllMethods: true}); err != nil || !bytes.Equal(got, wantSpecYAML) {
		t.Fatalf("ImportOpenAPIYAML: %v\n%s", err, got)
	}

	_, err = c.ImportOpenAPI(ctx, []byte("not: an openapi document"), client.OpenAPIImport{})
	var ae *client.Error
	if !errors.As(err, &ae) || ae.Status != http.StatusUnprocessableEntity || ae.Code != "invalid_openapi" {
		t.Fatalf("a bad document: %v, want 422 invalid_openapi", err)
	}
	viewer, _, err := f.s.access.CreateToken(t.Context(), "looker", "viewer", "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WithToken(viewer).ImportHAR(ctx, har, client.HARImport{}); client.StatusOf(err) != http.StatusForbidden {
		t.Fatalf("a viewer's import: %v, want 403", err)
	}
}

func containsScenario(list []client.ScenarioInfo, id, name string) bool {
	for _, s := range list {
		if s.ScenarioID == id && s.Name == name {
			return true
		}
	}
	return false
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}
