package scenario

import (
	"maps"
	"slices"
	"strings"
	"time"
)

// Limits of the per-step options.
const (
	MaxRetries          = 10
	MaxStepTags         = 16
	DefaultRetryBackoff = 100 * time.Millisecond
)

// compileStepOptions checks and compiles a step's timeout, tags, group,
// retries and conditions.
func (v *validator) compileStepOptions(path string, src Step, st *PlanStep, i int, sy *symbols) {
	st.Timeout = src.Timeout.D()
	if st.Timeout < 0 || st.Timeout > time.Hour {
		v.add(path+".timeout", "must be between 0s and 1h")
	}
	if len(src.Tags) > MaxStepTags {
		v.add(path+".tags", "%d tags, more than the limit of %d", len(src.Tags), MaxStepTags)
	}
	labels := make(map[string]string, len(src.Tags))
	for _, k := range slices.Sorted(maps.Keys(src.Tags)) {
		if !isName(k) || len(k) > 64 || len(src.Tags[k]) > 256 {
			v.add(path+".tags."+k, "a tag is a name (letters, digits, _, - and ., at most 64) with a value of at most 256 bytes")
			continue
		}
		label := TagLabel(k)
		switch {
		case reservedLabels[label] || strings.HasPrefix(label, "__"):
			v.add(path+".tags."+k, "is reserved: the step's metrics carry their own %q label (reserved: %s, and names starting with __)", label, strings.Join(ReservedLabels(), ", "))
		case labels[label] != "":
			v.add(path+".tags."+k, "is the metrics label %q, as the tag %q is: rename one", label, labels[label])
		default:
			labels[label] = k
		}
	}
	st.Tags = src.Tags
	if len(src.Group) > 200 {
		v.add(path+".group", "is longer than 200 characters")
	}
	st.Group = src.Group
	st.Retries, st.RetryBackoff = src.Retries, src.RetryBackoff.D()
	switch {
	case st.Retries < 0 || st.Retries > MaxRetries:
		v.add(path+".retries", "must be 0..%d", MaxRetries)
	case st.RetryBackoff < 0 || st.RetryBackoff > time.Minute:
		v.add(path+".retry_backoff", "must be between 0s and 1m")
	case st.Retries == 0 && src.RetryBackoff.D() != 0:
		v.add(path+".retry_backoff", "has no retries to space out: set retries")
	case st.Retries > 0 && st.RetryBackoff == 0:
		st.RetryBackoff = DefaultRetryBackoff
	}
	st.SkipSlot = v.conditionSlot(path+".skip_if", src.SkipIf, i, sy)
	st.OnlySlot = v.conditionSlot(path+".only_if", src.OnlyIf, i, sy)
}

// conditionSlot is the slot of the variable a skip_if or only_if names
// (-1 for none): one known before step i, as a template would read it.
func (v *validator) conditionSlot(path, name string, i int, sy *symbols) int {
	if name == "" {
		return -1
	}
	slot, err := sy.resolverFor(i)(name)
	if err != nil {
		v.add(path, "%v", err)
		return -1
	}
	return slot
}

// Truthy is how skip_if and only_if read a variable: true unless it is
// empty, "0" or "false".
func Truthy(s string) bool {
	return s != "" && s != "0" && s != "false"
}

// Skipped reports whether the step is skipped with these variables.
func (st *PlanStep) Skipped(vars []string) bool {
	if st.SkipSlot >= 0 && Truthy(vars[st.SkipSlot]) {
		return true
	}
	return st.OnlySlot >= 0 && !Truthy(vars[st.OnlySlot])
}

// StepTimeout is the timeout of the step's requests.
func (p *Plan) StepTimeout(st *PlanStep) time.Duration {
	if st.Timeout > 0 {
		return st.Timeout
	}
	return p.Timeout
}

// A step's tags label its per-step metric series (package tsdb), so a tag
// cannot take the name of a label those series already carry, or will:
// reservedLabels are the exporter's own labels, plus flow and group, kept
// for the step's own fields.
var reservedLabels = map[string]bool{
	"run": true, "run_id": true, "scenario": true, "step": true, "flow": true, "group": true,
	"status": true, "status_class": true, "class": true, "result": true, "worker": true,
	"vmrange": true, "le": true, "quantile": true, "job": true, "instance": true,
}

// ReservedLabels lists the label names a step tag may not take, sorted.
func ReservedLabels() []string { return slices.Sorted(maps.Keys(reservedLabels)) }

// TagLabel is the metrics label name of a step tag: a tag name with - and .
// as _ (a label name is letters, digits and _). Validation keeps it unique
// within the step and out of ReservedLabels.
func TagLabel(key string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '.' {
			return '_'
		}
		return r
	}, key)
}
