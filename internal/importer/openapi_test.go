package importer

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/barrage/barrage/internal/scenario"
)

func importSpec(t *testing.T, name string, opt OpenAPIOptions) *Result {
	t.Helper()
	data, err := os.ReadFile("testdata/openapi/" + name)
	if err != nil {
		t.Fatal(err)
	}
	res, err := OpenAPI(data, opt)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	reimport(t, res)
	return res
}

func stepByName(t *testing.T, s *scenario.Scenario, name string) scenario.Step {
	t.Helper()
	for _, st := range s.Steps {
		if st.Name == name {
			return st
		}
	}
	t.Fatalf("no step %q in %q", name, stepNames(s))
	return scenario.Step{}
}

// TestOpenAPITestdata: every document in testdata imports to a scenario
// that validates; --all-methods adds steps; GETs only by default.
func TestOpenAPITestdata(t *testing.T) {
	var files []string
	for _, ext := range []string{"yaml", "json"} {
		m, _ := filepath.Glob("testdata/openapi/*." + ext)
		files = append(files, m...)
	}
	if len(files) < 6 {
		t.Fatalf("testdata: %q", files)
	}
	for _, f := range files {
		name := filepath.Base(f)
		gets := importSpec(t, name, OpenAPIOptions{})
		all := importSpec(t, name, OpenAPIOptions{AllMethods: true})
		for _, st := range gets.Scenario.Steps {
			if st.Method != "GET" {
				t.Errorf("%s: step %q is %s without --all-methods", name, st.Name, st.Method)
			}
			if len(st.Checks) != 1 || len(st.Checks[0].Status) == 0 {
				t.Errorf("%s: step %q has no status check", name, st.Name)
			}
		}
		if len(all.Scenario.Steps) <= len(gets.Scenario.Steps) && name != "uspto.yaml" {
			t.Errorf("%s: %d steps with --all-methods, %d without", name, len(all.Scenario.Steps), len(gets.Scenario.Steps))
		}
	}
}

// TestOpenAPIPetstore: the base path from servers[0], parameters from
// examples, enums, defaults and formats, bodies made from schemas, and the
// documented 2xx statuses as checks.
func TestOpenAPIPetstore(t *testing.T) {
	res := importSpec(t, "petstore.yaml", OpenAPIOptions{AllMethods: true})
	s := res.Scenario
	if s.Name != "Swagger Petstore" || !strings.Contains(s.Description, "http://petstore.swagger.io") {
		t.Errorf("name %q description %q", s.Name, s.Description)
	}
	tests := []struct {
		step, method, url string
		status            scenario.StatusList
	}{
		// status: required array of an enum (available, pending, sold)
		{step: "findPetsByStatus", method: "GET", url: "/v2/pet/findByStatus?status=available", status: scenario.StatusList{200}},
		// petId: integer, int64
		{step: "getPetById", method: "GET", url: "/v2/pet/1", status: scenario.StatusList{200}},
		// orderId: integer, minimum 1, maximum 10
		{step: "getOrderById", method: "GET", url: "/v2/store/order/1", status: scenario.StatusList{200}},
		// username and password: required strings
		{step: "loginUser", method: "GET", url: "/v2/user/login?password=string&username=string", status: scenario.StatusList{200}},
		{step: "deletePet", method: "DELETE", url: "/v2/pet/1", status: scenario.StatusList{2}},
	}
	for _, tt := range tests {
		st := stepByName(t, s, tt.step)
		if st.Method != tt.method || st.URLTemplate != tt.url || !slices.Equal(st.Checks[0].Status, tt.status) {
			t.Errorf("%s: %s %s %v, want %s %s %v", tt.step, st.Method, st.URLTemplate, st.Checks[0].Status, tt.method, tt.url, tt.status)
		}
	}
	add := stepByName(t, s, "addPet")
	if add.Headers["Content-Type"] != "application/json" || !strings.Contains(add.BodyTemplate, `"name":"doggie"`) ||
		!strings.Contains(add.BodyTemplate, `"status":"available"`) || !strings.Contains(add.BodyTemplate, `"photoUrls":["https://example.com/photo.png"]`) {
		t.Errorf("addPet body %q headers %v", add.BodyTemplate, add.Headers)
	}
	// uploadFile takes multipart/form-data: no body is made, and a note
	// says so.
	if up := stepByName(t, s, "uploadFile"); up.BodyTemplate != "" {
		t.Errorf("uploadFile body %q", up.BodyTemplate)
	}
	notes := strings.Join(res.Notes, "\n")
	for _, want := range []string{"multipart/form-data (1)", "security schemes", `base path "/v2"`} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
}

// TestOpenAPIVariants: Swagger 2.0 is converted; OpenAPI 3.1 is read; a
// server URL's variables take their defaults; request examples win.
func TestOpenAPIVariants(t *testing.T) {
	v2 := importSpec(t, "swagger2-petstore.json", OpenAPIOptions{})
	if st := stepByName(t, v2.Scenario, "getPetById"); st.URLTemplate != "/v2/pet/1" {
		t.Errorf("swagger 2.0: getPetById %s", st.URLTemplate)
	}
	v31 := importSpec(t, "petstore-3.1.yaml", OpenAPIOptions{})
	if st := stepByName(t, v31.Scenario, "findPetsByStatus"); !strings.HasPrefix(st.URLTemplate, "/v2/pet/findByStatus?status=") {
		t.Errorf("3.1: findPetsByStatus %s", st.URLTemplate)
	}
	uspto := importSpec(t, "uspto.yaml", OpenAPIOptions{})
	if st := uspto.Scenario.Steps[0]; !strings.HasPrefix(st.URLTemplate, "/ds-api/") {
		t.Errorf("uspto: %s (want the base path /ds-api)", st.URLTemplate)
	}
	if !strings.Contains(uspto.Scenario.Description, "https://developer.uspto.gov") {
		t.Errorf("uspto: description %q lacks the server with its scheme variable's default", uspto.Scenario.Description)
	}
	ex := importSpec(t, "request-examples.yaml", OpenAPIOptions{AllMethods: true})
	var withBody int
	for _, st := range ex.Scenario.Steps {
		if st.BodyTemplate != "" {
			withBody++
		}
	}
	if withBody == 0 {
		t.Errorf("request-examples: no step has a body: %q", stepNames(ex.Scenario))
	}
}

// TestSampleSchemas: values made from schemas respect the schema.
func TestSampleSchemas(t *testing.T) {
	spec := `openapi: 3.0.3
info: {title: t, version: "1"}
servers: [{url: /api/v3/}]
paths:
  /things/{id}/{day}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: string, format: uuid}}
      - {name: day, in: path, required: true, schema: {type: string, format: date}}
    post:
      parameters:
        - {name: page, in: query, required: true, schema: {type: integer, minimum: 5, multipleOf: 2}}
        - {name: size, in: query, schema: {type: integer, default: 20}}
        - {name: sort, in: query, example: "-name", schema: {type: string}}
        - {name: X-Trace, in: header, required: true, schema: {type: string, minLength: 10}}
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                id: {type: integer, readOnly: true}
                email: {type: string, format: email}
                ratio: {type: number, exclusiveMinimum: true, minimum: 1, maximum: 2}
                kind: {type: string, enum: [b, a]}
                self: {$ref: '#/components/schemas/Node'}
                note: {type: string, example: "{{ not a template }}"}
      responses:
        "201": {description: created}
        "2XX": {description: ok}
components:
  schemas:
    Node:
      type: object
      properties:
        child: {$ref: '#/components/schemas/Node'}
        label: {type: string}
`
	res, err := OpenAPI([]byte(spec), OpenAPIOptions{AllMethods: true})
	if err != nil {
		t.Fatal(err)
	}
	s := reimport(t, res)
	st := s.Steps[0]
	wantURL := "/api/v3/things/3fa85f64-5717-4562-b3fc-2c963f66afa6/2024-01-01?page=6&sort=-name"
	if st.URLTemplate != wantURL {
		t.Errorf("url %q, want %q", st.URLTemplate, wantURL)
	}
	if st.Headers["X-Trace"] != "stringxxxx" {
		t.Errorf("X-Trace %q", st.Headers["X-Trace"])
	}
	wantBody := `{"email":"user@example.com","kind":"b","note":"{{ open_braces }} not a template }}","ratio":1.5,"self":{"label":"string"}}`
	if st.BodyTemplate != wantBody || s.Variables[braceVar] != "{{" {
		t.Errorf("body %s, want %s", st.BodyTemplate, wantBody)
	}
	if !slices.Equal(st.Checks[0].Status, scenario.StatusList{201, 2}) {
		t.Errorf("status check %v, want 201 and 2xx", st.Checks[0].Status)
	}
}

// TestOpenAPIBadInput: a clear error for what is not a usable document.
func TestOpenAPIBadInput(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"not yaml", "openapi: [3", "not JSON or YAML"},
		{"no version field", `{"info": {"title": "x"}}`, `no "openapi" (or "swagger") field`},
		{"old swagger", `{"swagger": "1.2"}`, "only Swagger 2.0 and OpenAPI 3.x"},
		{"openapi 4", `{"openapi": "4.0.0"}`, "only OpenAPI 3.x"},
		{"invalid", "openapi: 3.0.0\ninfo: {title: x, version: '1'}\npaths:\n  /a:\n    get:\n      responses: {}\n", "invalid OpenAPI document"},
		{"external ref", "openapi: 3.0.0\ninfo: {title: x, version: '1'}\npaths:\n  /a:\n    get:\n      responses:\n        '200': {$ref: 'other.yaml#/r'}\n",
			"external reference"},
		{"no gets", "openapi: 3.0.0\ninfo: {title: x, version: '1'}\npaths:\n  /a:\n    post:\n      responses:\n        '200': {description: ok}\n",
			"no GET operation (1 others): --all-methods"},
		{"no paths", "openapi: 3.0.0\ninfo: {title: x, version: '1'}\npaths: {}\n", "no operations"},
	}
	for _, tt := range tests {
		_, err := OpenAPI([]byte(tt.doc), OpenAPIOptions{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
}
