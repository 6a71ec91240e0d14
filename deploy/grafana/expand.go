package grafana

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// varRef matches a variable reference the way Grafana's template service
// does: $name, [[name]] or [[name:format]], ${name} or ${name:format}.
var varRef = regexp.MustCompile(`\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^}]+))?(?::([^}]+))?\}`)

// builtins are the variables Grafana defines itself.
var builtins = map[string]bool{
	"__interval": true, "__interval_ms": true,
	"__rate_interval": true, "__rate_interval_ms": true,
	"__range": true, "__range_s": true, "__range_ms": true,
	"__from": true, "__to": true, "__timezone": true,
	"__dashboard": true, "__org": true, "__user": true, "__name": true,
}

// refs returns the names of the variables expr refers to, in order,
// leaving out $1-style numbers (label_replace's replacement groups).
func refs(expr string) []string {
	var out []string
	for _, m := range varRef.FindAllStringSubmatch(expr, -1) {
		name := firstNonEmpty(m[1], m[2], m[4])
		if _, err := strconv.Atoi(name); err == nil {
			continue
		}
		out = append(out, name)
	}
	return out
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// RateInterval is Grafana's $__rate_interval for a query interval and the
// datasource's scrape interval: max(interval + scrape, 4 × scrape).
func RateInterval(interval, scrape time.Duration) time.Duration {
	return max(interval+scrape, 4*scrape)
}

// Expand substitutes variables in expr as Grafana's Prometheus datasource
// does when it sends the query:
//
//   - a variable in vars is taken as multi-value, as the dashboard's are: one
//     value becomes itself regex-escaped, several become (a|b) of the escaped
//     values (${v:raw}, ${v:csv}, ${v:pipe} and ${v:regex} format otherwise);
//   - $__interval becomes interval in Grafana's notation (15s, 1m, 500ms),
//     $__rate_interval becomes rateInterval as Go prints it (4s, 1m30s),
//     $__range becomes rng in whole seconds (120s); the _ms and _s variants
//     become plain numbers.
//
// Variables it does not know stay as they are.
func Expand(expr string, vars map[string][]string, interval, rateInterval, rng time.Duration) string {
	rangeS := int64(rng.Round(time.Second) / time.Second)
	fixed := map[string]string{
		"__interval":         formatInterval(interval),
		"__interval_ms":      strconv.FormatInt(interval.Milliseconds(), 10),
		"__rate_interval":    rateInterval.String(),
		"__rate_interval_ms": strconv.FormatInt(rateInterval.Milliseconds(), 10),
		"__range":            strconv.FormatInt(rangeS, 10) + "s",
		"__range_s":          strconv.FormatInt(rangeS, 10),
		"__range_ms":         strconv.FormatInt(rng.Milliseconds(), 10),
	}
	return varRef.ReplaceAllStringFunc(expr, func(ref string) string {
		m := varRef.FindStringSubmatch(ref)
		name, format := firstNonEmpty(m[1], m[2], m[4]), firstNonEmpty(m[3], m[6])
		if v, ok := fixed[name]; ok {
			return v
		}
		values, ok := vars[name]
		if !ok {
			return ref
		}
		return formatValues(values, format)
	})
}

func formatValues(values []string, format string) string {
	switch format {
	case "raw", "csv":
		return strings.Join(values, ",")
	case "pipe":
		return strings.Join(values, "|")
	case "regex":
		esc := make([]string, len(values))
		for i, v := range values {
			esc[i] = regexp.QuoteMeta(v)
		}
		if len(esc) == 1 {
			return esc[0]
		}
		return "(" + strings.Join(esc, "|") + ")"
	}
	esc := make([]string, len(values))
	for i, v := range values {
		esc[i] = escapeRegexValue(v)
	}
	if len(esc) == 1 {
		return esc[0]
	}
	return "(" + strings.Join(esc, "|") + ")"
}

// escapeRegexValue escapes a value for a regex inside a double-quoted PromQL
// string, as Grafana does for a multi-value variable: the regex needs \. for
// a literal dot, and the string literal needs that backslash doubled.
func escapeRegexValue(v string) string {
	var b strings.Builder
	for _, r := range v {
		switch {
		case r == '\\':
			b.WriteString(`\\\\`)
		case r == '"':
			b.WriteString(`\\\"`)
		case strings.ContainsRune(`$^*{}[]'+?.()|`, r):
			b.WriteString(`\\`)
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// formatInterval writes d as Grafana writes $__interval: in the largest unit
// it reaches, rounded down.
func formatInterval(d time.Duration) string {
	units := []struct {
		size time.Duration
		name string
	}{
		{365 * 24 * time.Hour, "y"}, {24 * time.Hour, "d"},
		{time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}, {time.Millisecond, "ms"},
	}
	for _, u := range units {
		if d >= u.size {
			return fmt.Sprintf("%d%s", d/u.size, u.name)
		}
	}
	return "1ms"
}
