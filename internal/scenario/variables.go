package scenario

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// symbols assigns variable slots and knows which names a step may read.
type symbols struct {
	plan *Plan
	// envs are the run's values of {{ env.KEY }}: the scenario's env with
	// the run's (barrage run -e, POST /runs "env") over it.
	envs map[string]string
	slot map[string]int
	// first is, per flow, the step (an index of stepRefs) whose extraction
	// first defines a name; variables and feeder fields, which exist from
	// the start, are under flow -1.
	first map[symKey]int
	// flowOf and pathOf are each step's flow and path, by index of stepRefs.
	flowOf []int
	pathOf []string
}

type symKey struct {
	flow int
	name string
}

// define gives name a slot; step is the index of the step that extracts
// it, -1 for a name that exists from the start.
func (sy *symbols) define(p *Plan, name string, step int) int {
	key := symKey{flow: -1, name: name}
	if step >= 0 {
		key.flow = sy.flowOf[step]
	}
	if first, ok := sy.first[key]; !ok || first > step {
		sy.first[key] = step
	}
	if i, ok := sy.slot[name]; ok {
		return i
	}
	i := len(p.Slots)
	sy.slot[name] = i
	p.Slots = append(p.Slots, name)
	p.InitialVars = append(p.InitialVars, "")
	return i
}

// resolverFor returns the resolver used by the templates of step i (an
// index of stepRefs).
func (sy *symbols) resolverFor(i int) resolver {
	return func(name string) (int, error) {
		if secret, ok := strings.CutPrefix(name, SecretPrefix); ok {
			return sy.secret(secret)
		}
		if key, ok := strings.CutPrefix(name, EnvPrefix); ok {
			return sy.env(key)
		}
		slot, ok := sy.slot[name]
		if !ok {
			return 0, fmt.Errorf("unknown variable %q (not in variables, a feeder's fields or an earlier step's extract)", name)
		}
		if _, always := sy.first[symKey{flow: -1, name: name}]; always {
			return slot, nil
		}
		first, ok := sy.first[symKey{flow: sy.flowOf[i], name: name}]
		if !ok {
			return 0, fmt.Errorf("variable %q is extracted only by another flow's steps: each VU runs one flow, and flows do not share variables", name)
		}
		if first >= i {
			return 0, fmt.Errorf("variable %q is extracted by %s, not before this step; give it a default in variables to use it earlier", name, sy.pathOf[first])
		}
		return slot, nil
	}
}

func (v *validator) compileSymbols(s *Scenario, p *Plan) *symbols {
	sy := &symbols{plan: p, slot: map[string]int{}, first: map[symKey]int{}, envs: s.Env}
	refs := s.stepRefs()
	for _, ref := range refs {
		sy.flowOf = append(sy.flowOf, ref.flow)
		sy.pathOf = append(sy.pathOf, ref.path)
	}
	v.checkEnv(s)
	names := make([]string, 0, len(s.Variables))
	for k := range s.Variables {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !isName(k) {
			v.add("variables."+k, "is not a valid variable name (letters, digits, _, - and ., starting with a letter or _)")
			continue
		}
		if msg := reservedName(k); msg != "" {
			v.add("variables."+k, "%s", msg)
			continue
		}
		p.InitialVars[sy.define(p, k, -1)] = s.Variables[k]
	}
	v.compileFeeders(s, p, sy)
	for i, ref := range refs {
		for j, e := range ref.src.Extract {
			path := fmt.Sprintf("%s.extract[%d].var", ref.path, j)
			if !isName(e.Var) {
				v.add(path, "%q is not a valid variable name", e.Var)
				continue
			}
			if msg := reservedName(e.Var); msg != "" {
				v.add(path, "%s", msg)
				continue
			}
			sy.define(p, e.Var, i)
		}
	}
	return sy
}

func (v *validator) compileFeeders(s *Scenario, p *Plan, sy *symbols) {
	owner := map[string]string{}
	seen := map[string]bool{}
	for i, f := range s.Feeders {
		path := fmt.Sprintf("feeders[%d]", i)
		pf := &PlanFeeder{Name: f.Name, Mode: f.Mode, Per: f.Per, Partition: f.Partition}
		if pf.Mode == "" {
			pf.Mode = ModeCircular
		}
		if pf.Per == "" {
			pf.Per = PerIteration
		}
		switch {
		case !isName(f.Name):
			v.add(path+".name", "is required: a name of letters, digits, _ and -")
		case seen[f.Name]:
			v.add(path+".name", "another feeder is named %q", f.Name)
		}
		seen[f.Name] = true
		if pf.Mode != ModeCircular && pf.Mode != ModeSequential && pf.Mode != ModeRandom {
			v.add(path+".mode", "must be circular, sequential or random, got %q", f.Mode)
		}
		if pf.Per != PerIteration && pf.Per != PerVU {
			v.add(path+".per", "must be iteration or vu, got %q", f.Per)
		}
		if f.File != "" {
			v.add(path+".file", "files are read only when the scenario is loaded from a file (barrage run FILE); send the records inline as data")
			continue
		}
		fields, err := feederFields(f.Data)
		if err != nil {
			v.add(path+".data", "%v", err)
			continue
		}
		pf.Fields = fields
		for _, field := range fields {
			if !isName(field) {
				v.add(path+".data", "field %q is not a valid variable name", field)
				continue
			}
			if o, dup := owner[field]; dup {
				v.add(path+".data", "field %q is also defined by %s", field, o)
				continue
			}
			if _, isVar := s.Variables[field]; isVar {
				v.add(path+".data", "field %q is also defined in variables", field)
				continue
			}
			if msg := reservedName(field); msg != "" {
				v.add(path+".data", "field %q: %s", field, msg)
				continue
			}
			owner[field] = "feeder " + f.Name
			pf.Slots = append(pf.Slots, sy.define(p, field, -1))
		}
		if len(pf.Slots) != len(fields) {
			continue
		}
		for _, rec := range f.Data {
			row := make([]string, len(fields))
			for k, field := range fields {
				row[k] = rec[field]
			}
			pf.Records = append(pf.Records, row)
		}
		p.Feeders = append(p.Feeders, pf)
	}
}

// SecretPrefix starts a template's reference to a secret: {{ secret.NAME }}.
const SecretPrefix = "secret."

// PlanSecret is a secret a plan's templates read: the worker fills its
// slot with the value from the server before the first request.
type PlanSecret struct {
	Name string
	Slot int
}

var secretNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// ValidSecretName reports whether name can name a secret.
func ValidSecretName(name string) bool { return secretNamePattern.MatchString(name) }

// secret gives {{ secret.NAME }} its slot, which no step writes.
func (sy *symbols) secret(name string) (int, error) {
	if !ValidSecretName(name) {
		return 0, fmt.Errorf("secret name %q: want letters, digits and _ (at most 64, not starting with a digit)", name)
	}
	slot, fresh := sy.outside(SecretPrefix + name)
	if fresh {
		sy.plan.Secrets = append(sy.plan.Secrets, PlanSecret{Name: name, Slot: slot})
	}
	return slot, nil
}

// outside gives a value set outside the scenario (secret.NAME, env.KEY)
// its slot, the first time it is read; fresh says this was that time.
func (sy *symbols) outside(full string) (slot int, fresh bool) {
	if slot, ok := sy.slot[full]; ok {
		return slot, false
	}
	return sy.define(sy.plan, full, -1), true
}

// EnvPrefix starts a template's reference to a variable given from outside
// the scenario: {{ env.KEY }}.
const EnvPrefix = "env."

var envKeyPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)

// ValidEnvKey reports whether key can name an env variable.
func ValidEnvKey(key string) bool { return envKeyPattern.MatchString(key) }

// Limits of a scenario's env.
const (
	MaxEnv         = 256
	MaxEnvValueLen = 64 << 10
)

func (v *validator) checkEnv(s *Scenario) {
	if len(s.Env) > MaxEnv {
		v.add("env", "%d variables, more than the limit of %d", len(s.Env), MaxEnv)
	}
	for k, val := range s.Env {
		switch {
		case !ValidEnvKey(k):
			v.add("env."+k, "is not a valid env name (letters, digits and _, at most 128, not starting with a digit)")
		case len(val) > MaxEnvValueLen:
			v.add("env."+k, "value of %d bytes, more than the limit of %d", len(val), MaxEnvValueLen)
		case secretName(k):
			// Env values are stored with the run and shown in its report.
			v.add("env."+k, "names a secret: env values are stored with the run and shown in its report; keep it with barrage secrets set %s and read it as {{ secret.%s }}", k, k)
		}
	}
}

// env gives {{ env.KEY }} its slot, which starts with the run's value and
// which no step writes.
func (sy *symbols) env(key string) (int, error) {
	if !ValidEnvKey(key) {
		return 0, fmt.Errorf("env name %q: want letters, digits and _ (at most 128, not starting with a digit)", key)
	}
	slot, fresh := sy.outside(EnvPrefix + key)
	if !fresh {
		return slot, nil
	}
	val, ok := sy.envs[key]
	if !ok {
		// A scenario may be stored before its run gives the value; a run
		// may not start without it (Plan.CheckEnv).
		sy.plan.MissingEnv = append(sy.plan.MissingEnv, key)
	}
	sy.plan.InitialVars[slot] = val
	return slot, nil
}

// CheckEnv refuses a plan that reads an {{ env.KEY }} nobody set: a run
// must not start with it.
func (p *Plan) CheckEnv() error {
	if len(p.MissingEnv) == 0 {
		return nil
	}
	var errs Errors
	for _, k := range p.MissingEnv {
		errs = append(errs, &FieldError{Path: "env." + k, Msg: fmt.Sprintf(
			"is not set: give it with barrage run -e %s=VALUE, \"env\" on POST /runs, or a default under env: in the scenario", k)})
	}
	return errs
}

// reservedName says why a variable may not be named name ("" if it may):
// secret. and env. start references to values given outside the scenario.
func reservedName(name string) string {
	switch {
	case strings.HasPrefix(name, SecretPrefix):
		return "the " + SecretPrefix + " prefix is for {{ secret.NAME }}: a secret's value is set with barrage secrets set, never in the scenario"
	case strings.HasPrefix(name, EnvPrefix):
		return "the " + EnvPrefix + " prefix is for {{ env.KEY }}: give the value under env: or with barrage run -e KEY=VALUE"
	}
	return ""
}
