package scenario

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// Redacted stands where a secret value was.
const Redacted = "[redacted]"

// secretWords are the words that make a name secret: a header, variable,
// feeder column, body member or query parameter one of whose words is one
// of these holds a secret (X-Auth-Token, client_secret, X-Amz-Signature,
// apiKey); secretParts make it secret anywhere in the name (passwordHash).
var (
	secretWords = wordSet("authorization authorisation authentication auth cookie password passwd pwd pass passphrase pin " +
		"secret token jwt bearer key apikey credential credentials signature sig session sessionid sid otp")
	secretParts = []string{"apikey", "accesskey", "privatekey", "subscriptionkey", "password", "passwd", "secret", "token", "credential"}
)

func wordSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

// secretName reports whether a name is taken for a secret's.
func secretName(name string) bool {
	words := nameWords(name)
	for _, w := range words {
		if secretWords[w] {
			return true
		}
	}
	joined := strings.Join(words, "")
	for _, p := range secretParts {
		if strings.Contains(joined, p) {
			return true
		}
	}
	return false
}

// nameWords splits a name into lower-case words at anything but letters
// and digits, and where a lower-case letter meets an upper-case one.
func nameWords(name string) []string {
	var words []string
	var cur []rune
	var prevLower bool
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	for _, r := range name {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if unicode.IsUpper(r) && prevLower {
				flush()
			}
			cur = append(cur, r)
			prevLower = unicode.IsLower(r)
		default:
			flush()
			prevLower = false
		}
	}
	flush()
	return words
}

// secretInBody matches a secret-named JSON string member ("password": "x")
// or form field / query parameter (password=x) of a body or URL template.
var secretInBody = regexp.MustCompile(`(?i)("([^"]*)"\s*:\s*)"((?:[^"\\]|\\.)*)"|\b([a-z0-9_.\-]+)=((?:\{\{[^}]*\}\}|[^&\s"#])*)`)

// userinfo matches the user:password@ of a URL.
var userinfo = regexp.MustCompile(`(?i)(\b[a-z][a-z0-9+.\-]*://)[^/@\s]+@`)

// templateOnly matches a value that is nothing but template references,
// after an authorization scheme at most ("Bearer {{ token }}").
var templateOnly = regexp.MustCompile(`(?i)^\s*((bearer|basic|token|digest)\s+)?(\{\{[^}]*\}\}\s*)+$`)

// templateRef matches a template reference's variable name.
var templateRef = regexp.MustCompile(`\{\{\s*([A-Za-z_][A-Za-z0-9_]*)`)

// RedactedYAML renders a stored scenario (its JSON document) as YAML for
// people to read, with secrets replaced by [redacted]: the values of
// secret-named headers, variables and inline feeder columns, and the
// secret-named members of body templates and query parameters of URL
// templates (a name is secret when one of its words is: Authorization,
// Cookie, X-Auth-Token, password, pwd, client_secret, api_key, key,
// X-Amz-Signature, session…; see secretWords), and the user:password of a
// URL. A value that is only template references ({{ … }}) is kept: it
// names a variable, whose own value is redacted where it is set if its
// name is secret. Inline feeder records beyond the
// first few are summarized, not listed.
func RedactedYAML(doc []byte) (string, error) {
	var n yaml.Node
	if err := yaml.Unmarshal(doc, &n); err != nil {
		return "", fmt.Errorf("scenario document: %w", err)
	}
	// A variable or feeder column that a secret value refers to is a
	// secret too, whatever its name ({{ auth }} in an Authorization header).
	refs := map[string]bool{}
	addRefs := func(value string) {
		for _, m := range templateRef.FindAllStringSubmatch(value, -1) {
			refs[m[1]] = true
		}
	}
	visit(&n, "", nil, func(v *yaml.Node) { addRefs(v.Value) }, func(v *yaml.Node) {
		for _, m := range secretInBody.FindAllStringSubmatch(v.Value, -1) {
			if value, ok := secretMember(m); ok {
				addRefs(value)
			}
		}
	})
	visit(&n, "", refs, func(v *yaml.Node) {
		if !templateOnly.MatchString(v.Value) {
			v.Value, v.Tag, v.Style = Redacted, "!!str", 0
		}
	}, func(v *yaml.Node) {
		v.Value = userinfo.ReplaceAllString(v.Value, "${1}"+Redacted+"@")
		v.Value = secretInBody.ReplaceAllStringFunc(v.Value, redactMember)
	})
	blockStyle(&n)
	out, err := yaml.Marshal(&n)
	if err != nil {
		return "", fmt.Errorf("scenario document: %w", err)
	}
	return string(out), nil
}

// shownRecords is how many inline feeder records RedactedYAML lists;
// body files longer than shownBase64 characters are summarized.
const (
	shownRecords = 5
	shownBase64  = 64
)

// visit calls secret with every scalar under n that holds a secret (see
// secretValue; refs may be nil) and template with every body and URL
// template. parent is the key of the mapping n is the value of. It also
// cuts inline feeder records to shownRecords, saying how many it left out.
func visit(n *yaml.Node, parent string, refs map[string]bool, secret, template func(v *yaml.Node)) {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		if parent == "data" && n.Kind == yaml.SequenceNode && len(n.Content) > shownRecords {
			more := len(n.Content) - shownRecords
			n.Content = n.Content[:shownRecords]
			n.HeadComment = fmt.Sprintf("%d more records not shown", more)
		}
		for _, c := range n.Content {
			visit(c, parent, refs, secret, template)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			switch {
			case v.Kind == yaml.ScalarNode && secretValue(parent, k.Value, refs):
				secret(v)
			case v.Kind == yaml.ScalarNode && (k.Value == "body_base64" || k.Value == "data_base64") && len(v.Value) > shownBase64:
				// A file's bytes: too long to read, and may hold anything.
				v.Value, v.Tag, v.Style = fmt.Sprintf("(%d characters of base64 not shown)", len(v.Value)), "!!str", 0
			case v.Kind == yaml.ScalarNode && (k.Value == "body_template" || k.Value == "url_template"):
				template(v)
			default:
				visit(v, k.Value, refs, secret, template)
			}
		}
	}
}

// secretValue reports whether the scalar at key, in a mapping that is the
// value of parent, holds a secret: by its name, or (variables and feeder
// columns) because a secret value refers to it.
func secretValue(parent, key string, refs map[string]bool) bool {
	switch parent {
	case "headers", "form", "fields": // headers, form and multipart fields
		return secretName(key)
	case "variables", "data", "env":
		return secretName(key) || refs[key]
	}
	return false
}

// secretMember returns the value of a secretInBody match — a JSON member
// or a form field — when its name is secret.
func secretMember(m []string) (string, bool) {
	if m[1] != "" { // "name": "value"
		return m[3], secretName(m[2])
	}
	return m[5], secretName(m[4]) // name=value
}

// redactMember redacts one JSON member or form field whose name is secret
// and whose value is not only template references.
func redactMember(m string) string {
	sub := secretInBody.FindStringSubmatch(m)
	value, secret := secretMember(sub)
	switch {
	case !secret || templateOnly.MatchString(value):
		return m
	case sub[1] != "":
		return sub[1] + `"` + Redacted + `"`
	case value == "": // name= with nothing to hide
		return m
	}
	return sub[4] + "=" + Redacted
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
