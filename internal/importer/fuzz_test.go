package importer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func addSeeds(f *testing.F, pattern string) {
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		f.Fatalf("seeds %s: %v", pattern, err)
	}
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

// FuzzHAR: any input gives a scenario that validates or an error that
// names the input's fault, never a panic or an invalid scenario.
func FuzzHAR(f *testing.F) {
	addSeeds(f, "testdata/har/*.har")
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := HAR(data, HAROptions{KeepStatic: true})
		checkFuzzed(t, res, err)
	})
}

// FuzzOpenAPI: likewise for OpenAPI documents.
func FuzzOpenAPI(f *testing.F) {
	addSeeds(f, "testdata/openapi/*.yaml")
	addSeeds(f, "testdata/openapi/*.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := OpenAPI(data, OpenAPIOptions{AllMethods: true})
		checkFuzzed(t, res, err)
	})
}

// checkFuzzed fails on an importer bug, or on a result that does not
// write out as a scenario; an error naming the input's fault is fine.
func checkFuzzed(t *testing.T, res *Result, err error) {
	t.Helper()
	if err != nil {
		if strings.Contains(err.Error(), "bug in the importer") {
			t.Fatal(err)
		}
		return
	}
	if _, err := res.YAML(); err != nil {
		t.Fatal(err)
	}
}
