package importer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/barrage/barrage/internal/scenario"
	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
	"go.yaml.in/yaml/v3"
)

// OpenAPIOptions shape an OpenAPI import.
type OpenAPIOptions struct {
	Name string // the scenario's name; default: the document's title
	// AllMethods makes a step of every operation; by default only GETs,
	// which a smoke test can repeat without changing the target's data.
	AllMethods bool
	VUs        int
	Duration   time.Duration
}

// methodOrder is the order of a path's steps.
var methodOrder = []string{"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE", "TRACE", "QUERY"}

// OpenAPI imports an OpenAPI 3.x (or Swagger 2.0) document, JSON or YAML,
// as a smoke scenario: one step per operation, with parameters and bodies
// from examples or made from schemas, and a check of the 2xx statuses the
// operation documents.
func OpenAPI(data []byte, opt OpenAPIOptions) (*Result, error) {
	doc, err := loadSpec(data)
	if err != nil {
		return nil, err
	}
	base, origin, err := basePath(doc)
	if err != nil {
		return nil, err
	}
	name := opt.Name
	if name == "" && doc.Info != nil {
		name = doc.Info.Title
	}
	if strings.TrimSpace(name) == "" {
		name = "openapi-import"
	}
	desc := "smoke test imported from an OpenAPI document"
	if doc.Info != nil {
		desc = fmt.Sprintf("smoke test imported from the OpenAPI document %q %s", doc.Info.Title, doc.Info.Version)
	}
	if origin != "" {
		desc += "; its server: " + origin
	}
	res := &Result{Scenario: newScenario(name, desc, opt.VUs, opt.Duration)}
	imp := &openapiImport{doc: doc, base: base, opt: opt, stepNames: names{}}
	imp.steps(res)
	if len(res.Scenario.Steps) == 0 {
		if imp.skipped > 0 {
			return nil, fmt.Errorf("the document has no GET operation (%d others): --all-methods makes a step of every operation", imp.skipped)
		}
		return nil, errors.New("the document has no operations: nothing to import")
	}
	res.Notes = imp.notes(origin)
	if err := res.check(); err != nil {
		return nil, err
	}
	return res, nil
}

// loadSpec parses and validates the document with kin-openapi; a Swagger
// 2.0 document is converted to OpenAPI 3 first. References to other files
// or URLs are refused: an import reads the one file it is given.
func loadSpec(data []byte) (*openapi3.T, error) {
	var top map[string]any
	if err := yaml.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("not an OpenAPI document: not JSON or YAML: %w", err)
	}
	var doc *openapi3.T
	switch {
	case top["swagger"] != nil:
		if fmt.Sprint(top["swagger"]) != "2.0" {
			return nil, fmt.Errorf("swagger %v: only Swagger 2.0 and OpenAPI 3.x are read", top["swagger"])
		}
		v2, err := json.Marshal(jsonable(top))
		if err != nil {
			return nil, fmt.Errorf("read Swagger 2.0 document: %w", err)
		}
		var d2 openapi2.T
		if err := json.Unmarshal(v2, &d2); err != nil {
			return nil, fmt.Errorf("read Swagger 2.0 document: %w", err)
		}
		if doc, err = openapi2conv.ToV3(&d2); err != nil {
			return nil, fmt.Errorf("convert Swagger 2.0 to OpenAPI 3: %w", err)
		}
	case top["openapi"] != nil:
		if v := fmt.Sprint(top["openapi"]); !strings.HasPrefix(v, "3.") {
			return nil, fmt.Errorf("openapi %s: only OpenAPI 3.x (and Swagger 2.0) are read", v)
		}
		loader := openapi3.NewLoader()
		var err error
		if doc, err = loader.LoadFromData(data); err != nil {
			return nil, fmt.Errorf("read OpenAPI document: %w", err)
		}
	default:
		return nil, errors.New(`not an OpenAPI document: no "openapi" (or "swagger") field at the top`)
	}
	if err := doc.Validate(context.Background(), openapi3.DisableExamplesValidation()); err != nil {
		return nil, fmt.Errorf("invalid OpenAPI document: %w", err)
	}
	return doc, nil
}

// jsonable turns YAML's non-string map keys (200: in responses) into
// strings, so that the document can go through encoding/json.
func jsonable(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = jsonable(x)
		}
		return t
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[fmt.Sprint(k)] = jsonable(x)
		}
		return out
	case []any:
		for i, x := range t {
			t[i] = jsonable(x)
		}
	}
	return v
}

// basePath is servers[0]'s path (its variables at their defaults), and
// its origin when it names one.
func basePath(doc *openapi3.T) (base, origin string, err error) {
	if len(doc.Servers) == 0 || doc.Servers[0] == nil {
		return "", "", nil
	}
	s := doc.Servers[0]
	raw := s.URL
	for name, v := range s.Variables {
		if v != nil {
			raw = strings.ReplaceAll(raw, "{"+name+"}", v.Default)
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", fmt.Errorf("servers[0].url %q: %w", s.URL, err)
	}
	if u.Host != "" {
		origin = u.Scheme + "://" + u.Host
	}
	return strings.TrimSuffix(u.EscapedPath(), "/"), origin, nil
}

type openapiImport struct {
	doc       *openapi3.T
	base      string
	opt       OpenAPIOptions
	stepNames names
	skipped   int // operations left out: not GET, without --all-methods
	bodies    map[string]int
	cookies   int
	truncated int
	braces    bool
}

func (imp *openapiImport) steps(res *Result) {
	paths := imp.doc.Paths.Keys()
	sort.Strings(paths)
	for _, p := range paths {
		item := imp.doc.Paths.Value(p)
		if item == nil {
			continue
		}
		for _, m := range methodOrder {
			op := item.GetOperation(m)
			if op == nil {
				continue
			}
			if m != "GET" && !imp.opt.AllMethods {
				imp.skipped++
				continue
			}
			if len(res.Scenario.Steps) == scenario.MaxSteps {
				imp.truncated++
				continue
			}
			st, note := imp.step(p, m, item, op)
			res.Scenario.Steps = append(res.Scenario.Steps, st)
			res.StepNotes = append(res.StepNotes, note)
		}
	}
	if imp.braces {
		res.Scenario.Variables = map[string]string{braceVar: "{{"}
	}
}

func (imp *openapiImport) notes(origin string) []string {
	notes := []string{"Imported by barrage import openapi: a smoke test, one step per operation, parameters and bodies from " +
		"the document's examples or made from its schemas."}
	target := "URL"
	if origin != "" {
		target = origin
	}
	notes = append(notes, fmt.Sprintf("Step URLs are paths (base path %q from servers[0]): run it with --target %s.", imp.base, target))
	if imp.skipped > 0 {
		notes = append(notes, fmt.Sprintf("Left out %d operations that are not GET: --all-methods makes steps of them too.", imp.skipped))
	}
	if imp.truncated > 0 {
		notes = append(notes, fmt.Sprintf("Left out the last %d operations: a scenario has at most %d steps.", imp.truncated, scenario.MaxSteps))
	}
	kinds := make([]string, 0, len(imp.bodies))
	for k, n := range imp.bodies {
		kinds = append(kinds, fmt.Sprintf("%s (%d)", k, n))
	}
	sort.Strings(kinds)
	if len(kinds) > 0 {
		notes = append(notes, "Request bodies not made, of types "+strings.Join(kinds, ", ")+": add body_template to those steps.")
	}
	if imp.cookies > 0 {
		notes = append(notes, fmt.Sprintf("%d required cookie parameters are not set: the per-VU cookie jar keeps what the target sets.", imp.cookies))
	}
	if imp.doc.Components != nil && len(imp.doc.Components.SecuritySchemes) > 0 || len(imp.doc.Security) > 0 {
		notes = append(notes, "The document declares security schemes: add the credentials as http.headers "+
			"(e.g. Authorization: 'Bearer {{ secret.API_TOKEN }}').")
	}
	if imp.braces {
		notes = append(notes, "An example held {{, which opens a template: it is written as {{ "+braceVar+" }}.")
	}
	return notes
}
