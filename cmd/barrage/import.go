package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/barrage/barrage/internal/importer"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// maxImportSize bounds a HAR file or an OpenAPI document read by import:
// recordings with response bodies get large, but not this large.
const maxImportSize = 256 << 20

// importConfig is what both importers share.
type importConfig struct {
	name     string
	vus      int
	duration time.Duration
	out      string
}

func (cfg *importConfig) flags(f *pflag.FlagSet) {
	f.StringVar(&cfg.name, "name", "", "the scenario's name (default: from the file's name)")
	f.IntVar(&cfg.vus, "vus", importer.DefaultVUs, "the scenario's virtual users")
	f.DurationVar(&cfg.duration, "duration", importer.DefaultDuration, "the scenario's duration")
	f.StringVar(&cfg.out, "out", "", "write the scenario to this file (default: standard output)")
}

func newImportCmd() *cobra.Command {
	return newGroupCmd("import", "make a scenario from a HAR recording or an OpenAPI document", newImportHARCmd(), newImportOpenAPICmd())
}

func newImportHARCmd() *cobra.Command {
	var cfg importConfig
	var opt importer.HAROptions
	c := &cobra.Command{
		Use:   "har FILE.har",
		Short: "make a scenario from a HAR recording (browser dev tools, a proxy)",
		Long: `Writes a scenario (YAML) with one step per recorded request: the recorded headers less cookies
(the per-VU cookie jar keeps them) and hop-by-hop ones, request bodies, think times from the recorded
gaps, a status check per step, and values a response sent that a later request reuses (a token, an id)
turned into extract + {{ var }}. Step URLs are paths: run it with --target. Static assets and requests
to other origins than the main one are left out unless asked for; the YAML's comments say what was.`,
		Args: wantArgs(1, "one HAR file"),
		RunE: func(_ *cobra.Command, args []string) error {
			data, err := readImport(args[0])
			if err != nil {
				return err
			}
			opt.Name, opt.VUs, opt.Duration = cfg.scenarioName(args[0]), cfg.vus, cfg.duration
			res, err := importer.HAR(data, opt)
			if err != nil {
				return &exitError{code: exitBadInput, err: fmt.Errorf("%s: %w", args[0], err)}
			}
			return cfg.write(res)
		},
	}
	f := c.Flags()
	cfg.flags(f)
	f.BoolVar(&opt.KeepStatic, "keep-static", false, "keep images, stylesheets, scripts, fonts and media")
	f.StringVar(&opt.Origin, "origin", "", "the recorded origin whose requests become paths (default: the one with the most requests)")
	f.BoolVar(&opt.KeepOtherOrigins, "keep-other-origins", false, "keep requests to other origins, as absolute URLs (default: left out)")
	return c
}

func newImportOpenAPICmd() *cobra.Command {
	var cfg importConfig
	var opt importer.OpenAPIOptions
	c := &cobra.Command{
		Use:   "openapi SPEC",
		Short: "make a smoke scenario from an OpenAPI 3 (or Swagger 2) document, JSON or YAML",
		Long: `Writes a smoke scenario (YAML) with one step per GET operation (every operation with --all-methods):
path and query parameters from the document's examples, else values made from their schemas, request
bodies likewise, and a check that the status is one the operation documents as 2xx. The base path
comes from servers[0]; step URLs are paths: run it with --target.`,
		Args: wantArgs(1, "one OpenAPI document"),
		RunE: func(_ *cobra.Command, args []string) error {
			data, err := readImport(args[0])
			if err != nil {
				return err
			}
			opt.Name, opt.VUs, opt.Duration = cfg.name, cfg.vus, cfg.duration
			res, err := importer.OpenAPI(data, opt)
			if err != nil {
				return &exitError{code: exitBadInput, err: fmt.Errorf("%s: %w", args[0], err)}
			}
			return cfg.write(res)
		},
	}
	f := c.Flags()
	cfg.flags(f)
	f.BoolVar(&opt.AllMethods, "all-methods", false, "a step for every operation, not only GET")
	return c
}

func readImport(path string) ([]byte, error) {
	f, err := os.Open(path) // #nosec G304 -- the user's own file, named on the command line
	if err != nil {
		return nil, &exitError{code: exitBadInput, err: err}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxImportSize+1))
	if err != nil {
		return nil, &exitError{code: exitBadInput, err: fmt.Errorf("read %s: %w", path, err)}
	}
	if len(data) > maxImportSize {
		return nil, &exitError{code: exitBadInput, err: fmt.Errorf("%s is larger than %d MiB", path, maxImportSize>>20)}
	}
	return data, nil
}

// scenarioName is --name, else the file's base name without extension.
func (cfg *importConfig) scenarioName(path string) string {
	if cfg.name != "" {
		return cfg.name
	}
	base := filepath.Base(path)
	return strings.TrimSuffix(base, filepath.Ext(base))
}

func (cfg *importConfig) write(res *importer.Result) error {
	doc, err := res.YAML()
	if err != nil {
		return err
	}
	if cfg.out == "" {
		_, err = os.Stdout.Write(doc)
		return err
	}
	if err := os.WriteFile(cfg.out, doc, 0o644); err != nil { // #nosec G306 -- a scenario, meant to be read and shared
		return &exitError{code: exitBadInput, err: err}
	}
	fmt.Fprintf(os.Stderr, "barrage import: %d steps written to %s\n", len(res.Scenario.Steps), cfg.out)
	return nil
}
