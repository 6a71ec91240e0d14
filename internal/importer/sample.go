package importer

import (
	"math"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// sampler makes a value that a schema accepts: its example, const,
// default or first enum value when it has one, else one built from its
// type and format. Recursive schemas stop at their second visit.
type sampler struct {
	visiting map[*openapi3.Schema]bool
	// request leaves out readOnly properties, which a client must not send.
	request bool
}

func newSampler(request bool) *sampler {
	return &sampler{visiting: map[*openapi3.Schema]bool{}, request: request}
}

const maxSampleDepth = 8

func (sm *sampler) value(ref *openapi3.SchemaRef, depth int) any {
	if ref == nil || ref.Value == nil || depth > maxSampleDepth || sm.visiting[ref.Value] {
		return nil
	}
	s := ref.Value
	sm.visiting[s] = true
	defer delete(sm.visiting, s)
	switch {
	case s.Example != nil:
		return s.Example
	case len(s.Examples) > 0:
		return s.Examples[0]
	case s.Const != nil:
		return s.Const
	case s.Default != nil:
		return s.Default
	case len(s.Enum) > 0:
		return s.Enum[0]
	case len(s.AllOf) > 0:
		return sm.allOf(s, depth)
	case len(s.OneOf) > 0:
		return sm.value(s.OneOf[0], depth+1)
	case len(s.AnyOf) > 0:
		return sm.value(s.AnyOf[0], depth+1)
	}
	switch schemaType(s) {
	case "object":
		return sm.object(s, depth)
	case "array":
		if v := sm.value(s.Items, depth+1); v != nil {
			return []any{v}
		}
		return []any{}
	case "integer":
		return int64(number(s, true))
	case "number":
		return number(s, false)
	case "boolean":
		return true
	case "null":
		return nil
	}
	return sampleString(s)
}

// schemaType is the schema's type, guessed from its shape when absent.
func schemaType(s *openapi3.Schema) string {
	if s.Type != nil {
		for _, t := range s.Type.Slice() {
			if t != "null" {
				return t
			}
		}
	}
	switch {
	case len(s.Properties) > 0:
		return "object"
	case s.Items != nil:
		return "array"
	}
	return "string"
}

func (sm *sampler) object(s *openapi3.Schema, depth int) map[string]any {
	out := map[string]any{}
	keys := make([]string, 0, len(s.Properties))
	for k := range s.Properties {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := s.Properties[k]
		if p == nil || p.Value == nil || sm.request && p.Value.ReadOnly {
			continue
		}
		if v := sm.value(p, depth+1); v != nil {
			out[k] = v
		}
	}
	return out
}

// allOf merges its parts' objects; a part that is not an object wins alone.
func (sm *sampler) allOf(s *openapi3.Schema, depth int) any {
	merged := map[string]any{}
	for _, part := range s.AllOf {
		v := sm.value(part, depth+1)
		obj, ok := v.(map[string]any)
		if !ok {
			if v != nil {
				return v
			}
			continue
		}
		for k, x := range obj {
			merged[k] = x
		}
	}
	if len(s.Properties) > 0 {
		for k, x := range sm.object(s, depth) {
			merged[k] = x
		}
	}
	return merged
}

// number is 1, moved into the schema's bounds and onto its multipleOf.
func number(s *openapi3.Schema, integer bool) float64 {
	v := 1.0
	step := 1.0
	if !integer {
		step = 0.5
	}
	if s.Min != nil && v <= *s.Min {
		v = *s.Min
		if s.ExclusiveMin.IsTrue() {
			v += step
		}
	}
	if s.ExclusiveMin.Value != nil && v <= *s.ExclusiveMin.Value {
		v = *s.ExclusiveMin.Value + step
	}
	if s.Max != nil && v > *s.Max {
		v = *s.Max
		if s.ExclusiveMax.IsTrue() {
			v -= step
		}
	}
	if s.MultipleOf != nil && *s.MultipleOf > 0 {
		v = math.Ceil(v / *s.MultipleOf) * *s.MultipleOf
	}
	if integer {
		v = math.Ceil(v)
	}
	return v
}

var formatSamples = map[string]string{
	"date-time": "2024-01-01T00:00:00Z", "date": "2024-01-01", "time": "12:00:00Z",
	"email": "user@example.com", "uuid": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
	"uri": "https://example.com/", "url": "https://example.com/", "hostname": "example.com",
	"ipv4": "192.0.2.1", "ipv6": "2001:db8::1", "byte": "c2FtcGxl", "password": "password",
}

func sampleString(s *openapi3.Schema) string {
	v, ok := formatSamples[s.Format]
	if !ok {
		v = "string"
	}
	if n := int(min(s.MinLength, 1024)); len(v) < n {
		v += strings.Repeat("x", n-len(v))
	}
	if s.MaxLength != nil && uint64(len(v)) > *s.MaxLength {
		v = v[:*s.MaxLength]
	}
	return v
}
