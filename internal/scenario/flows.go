package scenario

import (
	"fmt"
	"math"
	"strings"
)

// Flow is one of several user flows (Locust's user classes, k6's
// scenarios, Gatling's populations): its own steps, run by its weight's
// share of the virtual users (closed model) or of the arrivals (open
// model). A flow's variables are its own: a value one flow extracts is
// not seen by another, as each VU runs one flow.
type Flow struct {
	Name        string `yaml:"name" json:"name"`
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Weight is relative to the other flows' (default 1): weights 3 and 1
	// give the first flow three VUs of every four.
	Weight *float64 `yaml:"weight,omitempty" json:"weight,omitempty"`
	// ThinkTimeMS and ThinkTime are the pause after each of the flow's
	// steps that gives none of its own.
	ThinkTimeMS *float64   `yaml:"think_time_ms,omitempty" json:"think_time_ms,omitempty"`
	ThinkTime   *ThinkTime `yaml:"think_time,omitempty" json:"think_time,omitempty"`
	Steps       []Step     `yaml:"steps" json:"steps"`
}

// PlanFlow is a compiled flow: its steps are Plan.Steps[First:End]. A
// scenario without flows has one, named "", with every step.
type PlanFlow struct {
	Name        string
	Description string
	Weight      float64
	First, End  int
	think       ThinkSampler // for its steps that give none
}

// Limits of flows.
const (
	MaxFlows      = 64
	MaxFlowWeight = 1e6
)

// stepRef is one step of a scenario, where it is written and which flow
// (an index of Scenario.Flows; 0 without flows) it belongs to.
type stepRef struct {
	path string
	flow int
	src  *Step
}

// stepRefs lists a scenario's steps in order: the top-level steps, or
// every flow's in turn.
func (s *Scenario) stepRefs() []stepRef {
	var out []stepRef
	if len(s.Flows) == 0 {
		for i := range s.Steps {
			out = append(out, stepRef{path: fmt.Sprintf("steps[%d]", i), src: &s.Steps[i]})
		}
		return out
	}
	for f := range s.Flows {
		for i := range s.Flows[f].Steps {
			out = append(out, stepRef{path: fmt.Sprintf("flows[%d].steps[%d]", f, i), flow: f, src: &s.Flows[f].Steps[i]})
		}
	}
	return out
}

// compileFlows checks the flows and lays them out over the step list that
// stepRefs makes; it reports whether the steps may be compiled.
func (v *validator) compileFlows(s *Scenario, p *Plan) bool {
	switch {
	case len(s.Flows) > 0 && len(s.Steps) > 0:
		v.add("flows", "give steps (one flow for every VU) or flows, not both")
		return false
	case len(s.Flows) == 0:
		p.Flows = []*PlanFlow{{Weight: 1, End: len(s.Steps)}}
		return true
	case len(s.Flows) > MaxFlows:
		v.add("flows", "%d flows, more than the limit of %d", len(s.Flows), MaxFlows)
		return false
	}
	names := map[string]int{}
	at := 0
	for i := range s.Flows {
		f := &s.Flows[i]
		path := fmt.Sprintf("flows[%d]", i)
		pf := &PlanFlow{Name: strings.TrimSpace(f.Name), Description: f.Description, Weight: 1, First: at}
		switch {
		case !isName(pf.Name) || len(pf.Name) > 100:
			v.add(path+".name", "is required: a name of letters, digits, _, - and . (at most 100)")
		default:
			if j, dup := names[pf.Name]; dup {
				v.add(path+".name", "flows[%d] is named %q too; flow names must be unique", j, pf.Name)
			}
			names[pf.Name] = i
		}
		if f.Weight != nil {
			pf.Weight = *f.Weight
			if math.IsNaN(pf.Weight) || pf.Weight <= 0 || pf.Weight > MaxFlowWeight {
				v.add(path+".weight", "must be > 0 and at most %g (leave a flow out to give it no VUs)", float64(MaxFlowWeight))
			}
		}
		if len(f.Steps) == 0 {
			v.add(path+".steps", "at least one step is required")
		}
		// Compiled once here, for the steps that give no think time of
		// their own.
		pf.think = v.compileThink(path, Step{ThinkTimeMS: f.ThinkTimeMS, ThinkTime: f.ThinkTime})
		at += len(f.Steps)
		pf.End = at
		p.Flows = append(p.Flows, pf)
	}
	return true
}

// Flow returns the flow a threshold or a report names, or nil.
func (p *Plan) Flow(name string) *PlanFlow {
	for _, f := range p.Flows {
		if f.Name == name {
			return f
		}
	}
	return nil
}
