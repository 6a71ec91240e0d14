package importer

import (
	"bytes"
	"flag"
	"os"
	"testing"
	"time"
)

var updateExample = flag.Bool("update-example", false, "rewrite examples/har-imported.yaml from testdata/har/barrage-demo.har")

// examplePreamble is the example's own comment, above the importer's.
const examplePreamble = `# A HAR import. internal/importer/testdata/har/barrage-demo.har is a session recorded on the
# built-in target: browse items, log in, use the token in a header and in a body, fetch a
# stylesheet, follow a redirect, call another origin. This file is what
#   barrage import har internal/importer/testdata/har/barrage-demo.har \
#     --name har-imported --vus 5 --duration 30s --out examples/har-imported.yaml
# made of it (a test keeps it so). Run it against the built-in target:
#   bin/barrage target --listen 127.0.0.1:18080 &
#   bin/barrage run examples/har-imported.yaml --target http://127.0.0.1:18080

`

// exampleOptions are the flags examplePreamble names; rewrite the example
// with go test ./internal/importer -run TestExampleIsFresh -update-example.
var exampleOptions = HAROptions{Name: "har-imported", VUs: 5, Duration: 30 * time.Second}

// TestExampleIsFresh: the example is the importer's output for the demo
// recording (after a comment of its own), so that it shows what an import
// gives today.
func TestExampleIsFresh(t *testing.T) {
	data, err := os.ReadFile("testdata/har/barrage-demo.har")
	if err != nil {
		t.Fatal(err)
	}
	res, err := HAR(data, exampleOptions)
	if err != nil {
		t.Fatal(err)
	}
	want, err := res.YAML()
	if err != nil {
		t.Fatal(err)
	}
	if *updateExample {
		if err := os.WriteFile("../../examples/har-imported.yaml", append([]byte(examplePreamble), want...), 0o644); err != nil { // #nosec G306 -- an example, meant to be read
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile("../../examples/har-imported.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The example starts with its own comment, then the importer's output.
	if !bytes.HasSuffix(got, want) || !bytes.HasPrefix(got, []byte("# ")) {
		t.Errorf("examples/har-imported.yaml is stale: regenerate it with go test ./internal/importer -run TestExampleIsFresh -update-example\n%s", want)
	}
}
