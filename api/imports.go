package api

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/barrage/barrage/internal/importer"
	"github.com/barrage/barrage/internal/scenario"
	"github.com/barrage/barrage/internal/wire"
)

// DefaultMaxImportBody bounds a HAR recording or an OpenAPI document sent
// to /import/*: recordings with response bodies are far larger than any
// scenario, so these routes have their own limit (Config.MaxImportBody).
const DefaultMaxImportBody = 64 << 20

// importPrefix is where the importers are routed; limitBody gives the
// routes under it MaxImportBody.
const importPrefix = "/import/"

// The query parameters of the importers: the CLI's flags, snake_case.
var (
	importCommon     = []string{"name", "vus", "duration", "format"}
	importHARParams  = append(slices.Clone(importCommon), "keep_static", "origin", "keep_other_origins")
	importSpecParams = append(slices.Clone(importCommon), "all_methods")
)

func (s *Server) importRoutes(r *gin.Engine, runner gin.HandlerFunc) {
	// Runner, as POST /scenarios: an import stores nothing, but it is how
	// scenarios are written, and it parses large bodies.
	r.POST(importPrefix+"har", runner, s.importHAR)
	r.POST(importPrefix+"openapi", runner, s.importOpenAPI)
}

func (s *Server) importHAR(c *gin.Context) {
	q, ok := importQuery(c, importHARParams)
	if !ok {
		return
	}
	opt := importer.HAROptions{Name: q.name, VUs: q.vus, Duration: q.duration, Origin: c.Query("origin")}
	if opt.KeepStatic, ok = boolQuery(c, "keep_static"); !ok {
		return
	}
	if opt.KeepOtherOrigins, ok = boolQuery(c, "keep_other_origins"); !ok {
		return
	}
	body, ok := importBody(c, "HAR recording")
	if !ok {
		return
	}
	res, err := importer.HAR(body, opt)
	if err != nil {
		fail(c, http.StatusUnprocessableEntity, "invalid_har", "", "%v", err)
		return
	}
	writeImport(c, q.format, res)
}

func (s *Server) importOpenAPI(c *gin.Context) {
	q, ok := importQuery(c, importSpecParams)
	if !ok {
		return
	}
	opt := importer.OpenAPIOptions{Name: q.name, VUs: q.vus, Duration: q.duration}
	if opt.AllMethods, ok = boolQuery(c, "all_methods"); !ok {
		return
	}
	body, ok := importBody(c, "OpenAPI document")
	if !ok {
		return
	}
	res, err := importer.OpenAPI(body, opt)
	if err != nil {
		fail(c, http.StatusUnprocessableEntity, "invalid_openapi", "", "%v", err)
		return
	}
	writeImport(c, q.format, res)
}

// importParams are the options both importers share.
type importParams struct {
	name     string
	vus      int
	duration time.Duration
	format   string // "yaml" or "json"
}

// importQuery reads the shared options and refuses a parameter the route
// does not take (a misspelt option would otherwise be silently ignored).
func importQuery(c *gin.Context, allowed []string) (importParams, bool) {
	for k := range c.Request.URL.Query() {
		if !slices.Contains(allowed, k) {
			hint := ""
			if strings.Contains(k, "-") {
				hint = fmt.Sprintf(" (did you mean %s?)", strings.ReplaceAll(k, "-", "_"))
			}
			fail(c, http.StatusBadRequest, "bad_query", k, "unknown parameter %q%s; this route takes %s", k, hint, strings.Join(allowed, ", "))
			return importParams{}, false
		}
	}
	p := importParams{name: c.Query("name"), vus: importer.DefaultVUs, duration: importer.DefaultDuration, format: importFormat(c)}
	if v := c.Query("vus"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			fail(c, http.StatusBadRequest, "bad_query", "vus", "vus must be a positive integer, got %q", v)
			return p, false
		}
		p.vus = n
	}
	if v := c.Query("duration"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			fail(c, http.StatusBadRequest, "bad_query", "duration", "duration must be a positive duration such as 90s or 5m, got %q", v)
			return p, false
		}
		p.duration = d
	}
	if p.format == "" {
		fail(c, http.StatusBadRequest, "bad_query", "format", "format must be yaml or json, got %q", c.Query("format"))
		return p, false
	}
	return p, checkImportLoad(c, p)
}

// checkImportLoad holds the name and load to the scenario's own rules (a
// scenario of one step with them must compile), so that an import never
// fails on them after the work of reading the body.
func checkImportLoad(c *gin.Context, p importParams) bool {
	name := p.name
	if name == "" {
		name = "import"
	}
	_, err := scenario.Compile(&scenario.Scenario{Name: name, VirtualUsers: p.vus, DurationSeconds: p.duration.Seconds(),
		Steps: []scenario.Step{{Name: "s", URLTemplate: "/"}}})
	if err == nil {
		return true
	}
	field := ""
	if es, ok := scenario.AsErrors(err); ok && len(es) > 0 {
		field = map[string]string{"name": "name", "virtual_users": "vus", "duration_seconds": "duration"}[es[0].Path]
	}
	fail(c, http.StatusBadRequest, "bad_query", field, "%v", err)
	return false
}

// importFormat is the answer's format: the format parameter, else JSON
// when the Accept header asks for it before YAML, else YAML (whose
// comments carry the notes); "" for a format parameter of neither.
func importFormat(c *gin.Context) string {
	switch f := c.Query("format"); f {
	case "yaml", "json":
		return f
	case "":
	default:
		return ""
	}
	if c.NegotiateFormat("application/yaml", "application/x-yaml", "application/json") == "application/json" {
		return "json"
	}
	return "yaml"
}

func boolQuery(c *gin.Context, name string) (bool, bool) {
	v := c.Query(name)
	if v == "" {
		return false, true
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		fail(c, http.StatusBadRequest, "bad_query", name, "%s must be true or false, got %q", name, v)
		return false, false
	}
	return b, true
}

func importBody(c *gin.Context, what string) ([]byte, bool) {
	body, ok := readBody(c)
	if !ok {
		return nil, false
	}
	if len(bytes.TrimSpace(body)) == 0 {
		fail(c, http.StatusBadRequest, "missing_body", "", "send the %s as the request body", what)
		return nil, false
	}
	return body, true
}

// writeImport answers the imported scenario: YAML with the notes as
// comments, or JSON with them alongside.
func writeImport(c *gin.Context, format string, res *importer.Result) {
	if format == "yaml" {
		doc, err := res.YAML()
		if err != nil {
			failErr(c, err, "import")
			return
		}
		c.Data(http.StatusOK, "application/yaml; charset=utf-8", doc)
		return
	}
	doc, err := res.Scenario.JSON()
	if err != nil {
		failErr(c, err, "import")
		return
	}
	out := wire.ImportResult{Scenario: doc, Notes: res.Notes, StepNotes: []wire.StepNote{}}
	if out.Notes == nil {
		out.Notes = []string{}
	}
	for i, n := range res.StepNotes {
		if n != "" && i < len(res.Scenario.Steps) {
			out.StepNotes = append(out.StepNotes, wire.StepNote{Step: i, Name: res.Scenario.Steps[i].Name, Note: n})
		}
	}
	c.JSON(http.StatusOK, out)
}
