package wire

import "encoding/json"

// ImportResult is the JSON answer of POST /import/har and POST
// /import/openapi: the scenario (a body for POST /scenarios as it is) and
// what the import left out or guessed, which the YAML answer writes as
// comments.
type ImportResult struct {
	Scenario  json.RawMessage `json:"scenario"`
	Notes     []string        `json:"notes"`
	StepNotes []StepNote      `json:"step_notes"`
}

// StepNote is a note about one imported step: steps[Step], named Name.
type StepNote struct {
	Step int    `json:"step"`
	Name string `json:"name"`
	Note string `json:"note"`
}
