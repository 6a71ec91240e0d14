package api

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/barrage/barrage/internal/scenario"
)

// TestExamplesMatchTheScenarioSchema: every example scenario, as the CLI
// sends it to POST /scenarios, is valid against openapi.json's Scenario
// schema, so the document keeps up with the scenario language.
func TestExamplesMatchTheScenarioSchema(t *testing.T) {
	schema := loadOpenAPI(t).Components.Schemas["Scenario"].Value
	var bad any
	if err := json.Unmarshal([]byte(`{"name": "x", "flows": [{"name": "a", "steps": [{"url_template": "/", "bogus": 1}]}]}`), &bad); err != nil {
		t.Fatal(err)
	}
	if schema.VisitJSON(bad) == nil {
		t.Fatal("the schema takes a step with an unknown field: it checks nothing")
	}
	files, err := filepath.Glob("../examples/*.yaml")
	if err != nil || len(files) < 5 {
		t.Fatalf("examples: %v %v", files, err)
	}
	for _, f := range files {
		s, err := scenario.LoadFile(f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		b, err := s.JSON()
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		if err := schema.VisitJSON(doc); err != nil {
			t.Errorf("%s does not match the Scenario schema: %v", filepath.Base(f), err)
		}
	}
}
