package scenario

import (
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Redacted stands where a secret value was.
const Redacted = "[redacted]"

// secretName matches a header, variable, feeder column or JSON body key
// whose literal value is taken for a secret.
var secretName = regexp.MustCompile(`(?i)(authorization|cookie|passw(or)?d|secret|token|api[-_]?key|credential|private[-_]?key|session)`)

// secretInBody matches a secret-named JSON string member or form field of a
// body template: "password": "x" or password=x.
var secretInBody = regexp.MustCompile(`(?i)("[^"]*(?:passw(?:or)?d|secret|token|api[-_]?key|credential)[^"]*"\s*:\s*)"(?:[^"\\]|\\.)*"|(\b[a-z_]*(?:passw(?:or)?d|secret|token|api[-_]?key)[a-z_]*=)[^&\s"]*`)

// RedactedYAML renders a stored scenario (its JSON document) as YAML for
// people to read, with secrets replaced by [redacted]: the values of
// secret-named headers and variables (Authorization, Cookie, *token*,
// *password*, *secret*, *api_key*…), secret-named members of body templates
// and query parameters of URL templates
// and secret-named columns of inline feeder records. A value that is only
// a template reference ({{ … }}) is kept: it names a variable, whose own
// value is redacted where it is set. Inline feeder records beyond the
// first few are summarized, not listed.
func RedactedYAML(doc []byte) (string, error) {
	var n yaml.Node
	if err := yaml.Unmarshal(doc, &n); err != nil {
		return "", fmt.Errorf("scenario document: %w", err)
	}
	redactNode(&n, "")
	blockStyle(&n)
	out, err := yaml.Marshal(&n)
	if err != nil {
		return "", fmt.Errorf("scenario document: %w", err)
	}
	return string(out), nil
}

// shownRecords is how many inline feeder records RedactedYAML lists.
const shownRecords = 5

// redactNode walks n; parent is the key of the mapping n is the value of.
func redactNode(n *yaml.Node, parent string) {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		if parent == "data" && n.Kind == yaml.SequenceNode && len(n.Content) > shownRecords {
			more := len(n.Content) - shownRecords
			n.Content = n.Content[:shownRecords]
			n.HeadComment = fmt.Sprintf("%d more records not shown", more)
		}
		for _, c := range n.Content {
			redactNode(c, parent)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			switch {
			case v.Kind == yaml.ScalarNode && secretValue(parent, k.Value):
				if !strings.Contains(v.Value, "{{") {
					v.Value, v.Tag, v.Style = Redacted, "!!str", 0
				}
			case v.Kind == yaml.ScalarNode && (k.Value == "body_template" || k.Value == "url_template"):
				v.Value = secretInBody.ReplaceAllStringFunc(v.Value, redactMember)
			default:
				redactNode(v, k.Value)
			}
		}
	}
}

// secretValue reports whether the scalar at key, in a mapping that is the
// value of parent, holds a secret.
func secretValue(parent, key string) bool {
	switch parent {
	case "headers", "variables", "data":
		return secretName.MatchString(key)
	}
	return false
}

func redactMember(m string) string {
	sub := secretInBody.FindStringSubmatch(m)
	if strings.Contains(m, "{{") {
		return m
	}
	if sub[1] != "" {
		return sub[1] + `"` + Redacted + `"`
	}
	return sub[2] + Redacted
}

// blockStyle undoes the flow style a JSON document parses with, so that the
// YAML reads as YAML.
func blockStyle(n *yaml.Node) {
	if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
		n.Style &^= yaml.FlowStyle
	}
	if n.Kind == yaml.ScalarNode && n.Style&(yaml.DoubleQuotedStyle) != 0 {
		n.Style = 0
	}
	for _, c := range n.Content {
		blockStyle(c)
	}
}
