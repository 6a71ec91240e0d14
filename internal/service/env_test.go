package service

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// TestRunEnv: a run's "env" is merged key by key over the scenario's env
// into the document stored with the run; a bad key is refused.
func TestRunEnv(t *testing.T) {
	doc := []byte(`{"name":"e","virtual_users":1,"duration_seconds":1,"env":{"A":"1","B":"2"},"steps":[{"url_template":"/{{ env.A }}/{{ env.C }}"}]}`)
	merged, plan, err := applyOverrides(doc, nil, map[string]string{"A": "9", "C": "3"})
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Env map[string]string }
	if err := json.Unmarshal(merged, &got); err != nil {
		t.Fatal(err)
	}
	if got.Env["A"] != "9" || got.Env["B"] != "2" || got.Env["C"] != "3" || len(plan.MissingEnv) != 0 {
		t.Errorf("stored env %v, missing %v", got.Env, plan.MissingEnv)
	}
	_, plan, err = applyOverrides(doc, nil, nil)
	if err != nil || len(plan.MissingEnv) != 1 || plan.MissingEnv[0] != "C" {
		t.Errorf("without C: err %v, missing %v", err, plan.MissingEnv)
	}
	_, _, err = applyOverrides(doc, nil, map[string]string{"no-dash": "x"})
	var r *Error
	if !errors.As(err, &r) || !strings.Contains(err.Error(), "not a valid env name") {
		t.Errorf("bad key: err = %v", err)
	}
}
