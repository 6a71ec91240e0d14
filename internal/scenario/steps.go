package scenario

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
)

func (v *validator) compileSteps(s *Scenario, p *Plan, sy *symbols) {
	if !v.compileFlows(s, p) {
		return
	}
	refs := s.stepRefs()
	if len(refs) == 0 {
		if len(s.Flows) == 0 {
			v.add("steps", "at least one step is required (or flows, each with its steps)")
		}
		return
	}
	if len(refs) > MaxSteps {
		v.add("steps", "%d steps, more than the limit of %d", len(refs), MaxSteps)
		return
	}
	// Step names are unique across flows too: thresholds, reports, series
	// and comparisons name a step by its name alone.
	names := map[string]string{}
	for i, ref := range refs {
		st := v.compileStep(s, p, i, ref, sy)
		if st == nil {
			continue
		}
		if other, dup := names[st.Name]; dup {
			v.add(ref.path+".name", "%s is named %q too; step names must be unique (across flows too)", other, st.Name)
		}
		names[st.Name] = ref.path
		p.Steps = append(p.Steps, st)
	}
}

func (v *validator) compileStep(s *Scenario, p *Plan, i int, ref stepRef, sy *symbols) *PlanStep {
	src, path := *ref.src, ref.path
	nerr := len(v.errs)
	st := &PlanStep{Name: strings.TrimSpace(src.Name), Method: strings.ToUpper(strings.TrimSpace(src.Method))}
	st.Flow = p.Flows[ref.flow].Name
	if st.Method == "" {
		st.Method = "GET"
	}
	if !validToken(st.Method) {
		v.add(path+".method", "%q is not an HTTP method", src.Method)
	}
	if st.Name == "" {
		st.Name = st.Method + " " + src.URLTemplate
	}
	resolve := sy.resolverFor(i)
	st.URL = v.compileURL(path+".url_template", src.URLTemplate, resolve)
	st.Headers = v.compileHeaders(path, s.HTTP.Headers, src.Headers, resolve)
	v.compileBody(path, s, src, st, resolve)
	if src.ThinkTimeMS == nil && src.ThinkTime == nil {
		st.Think = p.Flows[ref.flow].think
	} else {
		st.Think = v.compileThink(path, src)
	}
	v.compileStepOptions(path, src, st, i, sy)
	for j, c := range src.Checks {
		cc, err := compileCheck(c)
		if err != nil {
			v.add(fmt.Sprintf("%s.checks[%d]", path, j), "%v", err)
			continue
		}
		st.Checks = append(st.Checks, cc)
		st.NeedBody = st.NeedBody || cc.NeedsBody()
	}
	for j, e := range src.Extract {
		x, err := compileExtract(e, sy.slot[e.Var])
		if err != nil {
			v.add(fmt.Sprintf("%s.extract[%d]", path, j), "%v", err)
			continue
		}
		st.Extract = append(st.Extract, x)
		st.NeedBody = st.NeedBody || x.NeedsBody()
		st.NeedHeaders = st.NeedHeaders || !x.NeedsBody()
	}
	if len(v.errs) > nerr {
		return nil
	}
	return st
}

func (v *validator) compileURL(path, src string, resolve resolver) *Template {
	if strings.TrimSpace(src) == "" {
		v.add(path, "is required: a path like /api/items or an absolute http(s) URL")
		return nil
	}
	t, err := compileTemplate(src, resolve)
	if err != nil {
		v.add(path, "%v", err)
		return nil
	}
	lower := strings.ToLower(src)
	abs := strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://")
	if !abs && !strings.HasPrefix(src, "/") && !strings.HasPrefix(src, "{{") {
		v.add(path, "%q must start with / (resolved against the target base URL) or be an absolute http(s) URL", src)
		return nil
	}
	if static, ok := t.Static(); ok {
		if _, err := url.Parse(static); err != nil {
			v.add(path, "not a valid URL: %v", err)
		}
	}
	return t
}

func (v *validator) compileHeaders(path string, common, own map[string]string, resolve resolver) []HeaderTemplate {
	var out []HeaderTemplate
	add := func(prefix string, hs map[string]string, skip map[string]string) {
		names := make([]string, 0, len(hs))
		for k := range hs {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, name := range names {
			if _, overridden := skip[name]; overridden {
				continue
			}
			hp := prefix + "." + name
			if !validHeaderName(name) {
				v.add(hp, "is not a valid header name")
				continue
			}
			t, err := compileTemplate(hs[name], resolve)
			if err != nil {
				v.add(hp, "%v", err)
				continue
			}
			out = append(out, HeaderTemplate{Name: name, Value: t})
		}
	}
	add("http.headers", common, own)
	add(path+".headers", own, nil)
	return out
}

func validToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune("\"(),/:;<=>?@[\\]{}", r) {
			return false
		}
	}
	return true
}
