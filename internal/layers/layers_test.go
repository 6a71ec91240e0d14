package layers

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/barrage/barrage/"

// layers lists the packages from the bottom up: a package may import its
// own layer and those below, never one above. Test-only and tool packages
// (bench, e2e) are left out.
var layers = []struct {
	name string
	pkgs []string
}{
	{"core", []string{"internal/scenario", "internal/profile", "internal/engine", "internal/hist", "internal/h1", "internal/netpolicy",
		"internal/target", "internal/chrome", "internal/wire", "web", "migrations", "internal/layers", "internal/vmtest", "internal/tlstest", "internal/httpserve", "deploy/grafana",
		"internal/importer"}},
	{"store/reports", []string{"internal/store", "reports", "api/client"}},
	{"service/fold/workflows", []string{"internal/service", "internal/fold", "internal/tsdb", "workflows"}},
	{"api/activities/workers", []string{"api", "activities", "workers", "internal/service/temporalport", "internal/devserver"}},
	{"server", []string{"internal/server"}},
	{"cmd", []string{"cmd/barrage"}},
}

var outside = []string{"bench/", "e2e"}

// TestLayers reads every package's imports with go list and fails on one
// that runs upwards, or on a package no layer names. With -v it draws the
// layers and what each imports.
func TestLayers(t *testing.T) {
	level := map[string]int{}
	for i, l := range layers {
		for _, p := range l.pkgs {
			level[p] = i
		}
	}
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports", module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	uses := map[string][]string{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(p.ImportPath, module)
		if slices.ContainsFunc(outside, func(o string) bool { return strings.HasPrefix(name, o) }) {
			continue
		}
		from, ok := level[name]
		if !ok {
			t.Errorf("package %s has no layer: add it to layers in %s", name, "internal/layers/layers_test.go")
			continue
		}
		for _, imp := range p.Imports {
			dep, ours := strings.CutPrefix(imp, module)
			if !ours {
				continue
			}
			uses[name] = append(uses[name], dep)
			if level[dep] > from {
				t.Errorf("%s (%s) imports %s (%s): imports run downwards only", name, layers[from].name, dep, layers[level[dep]].name)
			}
		}
	}
	for i := len(layers) - 1; i >= 0; i-- {
		t.Logf("%s:", layers[i].name)
		for _, p := range layers[i].pkgs {
			t.Logf("  %-32s → %s", p, strings.Join(uses[p], " "))
		}
	}
}
