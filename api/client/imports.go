package client

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// ImportOptions are what both importers take, as barrage import's flags;
// zero values are the server's defaults.
type ImportOptions struct {
	Name     string
	VUs      int
	Duration time.Duration
}

// HARImport are the options of ImportHAR.
type HARImport struct {
	ImportOptions
	KeepStatic       bool
	Origin           string
	KeepOtherOrigins bool
}

// OpenAPIImport are the options of ImportOpenAPI.
type OpenAPIImport struct {
	ImportOptions
	AllMethods bool
}

func (o ImportOptions) query(format string) url.Values {
	q := url.Values{"format": {format}}
	if o.Name != "" {
		q.Set("name", o.Name)
	}
	if o.VUs != 0 {
		q.Set("vus", strconv.Itoa(o.VUs))
	}
	if o.Duration != 0 {
		q.Set("duration", o.Duration.String())
	}
	return q
}

func (o HARImport) query(format string) string {
	q := o.ImportOptions.query(format)
	if o.KeepStatic {
		q.Set("keep_static", "true")
	}
	if o.Origin != "" {
		q.Set("origin", o.Origin)
	}
	if o.KeepOtherOrigins {
		q.Set("keep_other_origins", "true")
	}
	return q.Encode()
}

func (o OpenAPIImport) query(format string) string {
	q := o.ImportOptions.query(format)
	if o.AllMethods {
		q.Set("all_methods", "true")
	}
	return q.Encode()
}

// ImportHAR makes a scenario from a HAR recording on the server (runner):
// the scenario as JSON, with what was left out or guessed.
func (c *Client) ImportHAR(ctx context.Context, har []byte, opt HARImport) (*ImportResult, error) {
	var out ImportResult
	if err := c.do(ctx, http.MethodPost, "/import/har?"+opt.query("json"), "", "application/json", bytes.NewReader(har), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ImportHARYAML is ImportHAR answering the scenario as YAML, the notes as
// comments (what barrage import har writes).
func (c *Client) ImportHARYAML(ctx context.Context, har []byte, opt HARImport) ([]byte, error) {
	var out []byte
	err := c.do(ctx, http.MethodPost, "/import/har?"+opt.query("yaml"), "", "application/json", bytes.NewReader(har), &out)
	return out, err
}

// ImportOpenAPI makes a smoke scenario from an OpenAPI 3 (or Swagger 2)
// document, JSON or YAML, on the server (runner).
func (c *Client) ImportOpenAPI(ctx context.Context, spec []byte, opt OpenAPIImport) (*ImportResult, error) {
	var out ImportResult
	if err := c.do(ctx, http.MethodPost, "/import/openapi?"+opt.query("json"), "", specType(spec), bytes.NewReader(spec), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ImportOpenAPIYAML is ImportOpenAPI answering the scenario as YAML.
func (c *Client) ImportOpenAPIYAML(ctx context.Context, spec []byte, opt OpenAPIImport) ([]byte, error) {
	var out []byte
	err := c.do(ctx, http.MethodPost, "/import/openapi?"+opt.query("yaml"), "", specType(spec), bytes.NewReader(spec), &out)
	return out, err
}

// specType is the Content-Type of an OpenAPI document: JSON when it looks
// like JSON, else YAML (the server reads either whatever it is told).
func specType(spec []byte) string {
	if t := bytes.TrimSpace(spec); len(t) > 0 && t[0] == '{' {
		return "application/json"
	}
	return "application/yaml"
}
