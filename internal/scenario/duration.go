package scenario

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Duration is a time span written with its unit, as Go writes it: 500ms, 1.5s,
// 2m, 1h30m. A bare number is rejected, since it would be ambiguous.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

func parseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("must be a duration like 500ms or 30s, got an empty string")
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil && s != "0" {
		return 0, fmt.Errorf("must be a duration with a unit, like %sms or %ss, got %s", s, s, s)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("must be a duration like 500ms or 30s, got %q", s)
	}
	return Duration(v), nil
}

func (d *Duration) decodeNode(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("must be a duration like 500ms or 30s, got %s", kindName(n))
	}
	v, err := parseDuration(n.Value)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalJSON writes the duration in its text form ("1.5s").
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads the text form written by MarshalJSON.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New("must be a duration string like \"500ms\"")
	}
	v, err := parseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// StatusList is a set of accepted status codes: exact codes (200) and classes
// ("2xx"), written as one value or a list.
type StatusList []int

func (l *StatusList) decodeNode(n *yaml.Node) error {
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
	}
	if len(items) == 0 {
		return errors.New("must list at least one status code")
	}
	out := make(StatusList, 0, len(items))
	for _, it := range items {
		if it.Kind != yaml.ScalarNode {
			return fmt.Errorf("must be status codes like 200 or \"2xx\", got %s", kindName(it))
		}
		code, err := parseStatus(it.Value)
		if err != nil {
			return err
		}
		out = append(out, code)
	}
	*l = out
	return nil
}

// parseStatus reads "200" as 200 and "2xx" as the class 2.
func parseStatus(s string) (int, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) == 3 && s[1:] == "xx" && s[0] >= '1' && s[0] <= '5' {
		return int(s[0] - '0'), nil
	}
	code, err := strconv.Atoi(s)
	if err != nil || code < 100 || code > 599 {
		return 0, fmt.Errorf("must be a status code from 100 to 599 or a class like \"2xx\", got %q", s)
	}
	return code, nil
}

// Match reports whether status is in the list.
func (l StatusList) Match(status int) bool {
	for _, c := range l {
		if c == status || (c < 10 && status/100 == c) {
			return true
		}
	}
	return false
}

// MarshalJSON writes a list of numbers, with classes as "2xx".
func (l StatusList) MarshalJSON() ([]byte, error) {
	out := make([]any, len(l))
	for i, c := range l {
		if c < 10 {
			out[i] = fmt.Sprintf("%dxx", c)
		} else {
			out[i] = c
		}
	}
	return json.Marshal(out)
}

func (l StatusList) String() string {
	parts := make([]string, len(l))
	for i, c := range l {
		if c < 10 {
			parts[i] = fmt.Sprintf("%dxx", c)
		} else {
			parts[i] = strconv.Itoa(c)
		}
	}
	return strings.Join(parts, ",")
}
