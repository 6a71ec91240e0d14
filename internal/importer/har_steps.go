package importer

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/barrage/barrage/internal/scenario"
)

// draft is a step's recorded request before templating: raw text.
type draft struct {
	method  string
	url     string      // a path for the main origin, else the absolute URL
	headers [][2]string // name, value; sorted by name
	body    string
}

// droppedHeaders are not replayed: cookies belong to the per-VU jar; the
// others are hop-by-hop, HTTP/2 pseudo-headers, computed by the client, or
// the recording browser's cache state.
var droppedHeaders = map[string]string{
	"cookie": "cookie jar", "set-cookie": "cookie jar",
	"host": "computed", "content-length": "computed", "connection": "hop-by-hop", "keep-alive": "hop-by-hop",
	"proxy-connection": "hop-by-hop", "transfer-encoding": "hop-by-hop", "te": "hop-by-hop", "trailer": "hop-by-hop",
	"upgrade": "hop-by-hop", "proxy-authorization": "hop-by-hop",
	// The engine reads bodies as they come: a recorded Accept-Encoding
	// would ask for compressed ones that checks and extraction cannot read.
	"accept-encoding": "computed",
	"if-none-match":   "browser cache", "if-modified-since": "browser cache",
}

// build turns the kept records into the scenario's steps.
func (imp *harImport) build(res *Result, recs []*rec) {
	if len(recs) > scenario.MaxSteps {
		imp.truncated = len(recs) - scenario.MaxSteps
		recs = recs[:scenario.MaxSteps]
	}
	drafts := make([]draft, len(recs))
	for i, r := range recs {
		drafts[i] = imp.draft(r)
	}
	cor := correlate(recs, drafts)
	s := res.Scenario
	stepNames := names{}
	braces := false
	res.StepNotes = make([]string, len(recs))
	for i, r := range recs {
		d := drafts[i]
		st := scenario.Step{Method: d.method, Extract: cor.extracts[i]}
		st.Name = stepNames.unique(d.method + " " + stepPath(r.u))
		var b bool
		st.URLTemplate, b = render(d.url, cor.subs[i])
		braces = braces || b
		for _, h := range d.headers {
			if st.Headers == nil {
				st.Headers = map[string]string{}
			}
			st.Headers[h[0]], b = render(h[1], cor.subs[i])
			braces = braces || b
		}
		st.BodyTemplate, b = render(d.body, cor.subs[i])
		braces = braces || b
		if i+1 < len(recs) {
			st.ThinkTime = thinkTime(recs[i+1].start.Sub(r.end))
		}
		if r.status >= 100 && r.status <= 599 {
			st.Checks = []scenario.Check{{Status: statusCheck(r.status)}}
		}
		s.Steps = append(s.Steps, st)
		res.StepNotes[i] = fmt.Sprintf("recorded: %s %s -> %d %s (entries[%d])", r.e.Request.Method, r.e.Request.URL, r.status, r.mime, r.index)
	}
	if braces {
		s.Variables = map[string]string{braceVar: "{{"}
	}
	res.Notes = imp.notes(len(recs), cor.notes, braces)
}

func (imp *harImport) draft(r *rec) draft {
	d := draft{method: strings.ToUpper(r.e.Request.Method)}
	if originOf(r.u) == imp.origin {
		d.url = stepPath(r.u)
		if r.u.RawQuery != "" {
			d.url += "?" + r.u.RawQuery
		}
	} else {
		abs := *r.u
		abs.Fragment = ""
		d.url = abs.String()
	}
	seen := map[string]int{}
	for _, h := range r.e.Request.Headers {
		lower := strings.ToLower(h.Name)
		if strings.HasPrefix(h.Name, ":") || droppedHeaders[lower] != "" {
			continue
		}
		if i, dup := seen[lower]; dup {
			d.headers[i][1] += ", " + h.Value
			continue
		}
		seen[lower] = len(d.headers)
		d.headers = append(d.headers, [2]string{h.Name, h.Value})
	}
	if pd := r.e.Request.PostData; pd != nil {
		d.body = pd.Text
		if d.body == "" && len(pd.Params) > 0 {
			form := url.Values{}
			for _, p := range pd.Params {
				if p.FileName == "" {
					form.Add(p.Name, p.Value)
				}
			}
			d.body = form.Encode()
		}
		if _, has := seen["content-type"]; !has && d.body != "" && pd.MimeType != "" {
			d.headers = append(d.headers, [2]string{"Content-Type", pd.MimeType})
		}
	}
	sort.Slice(d.headers, func(i, j int) bool { return d.headers[i][0] < d.headers[j][0] })
	return d
}

func stepPath(u *url.URL) string {
	if p := u.EscapedPath(); p != "" {
		return p
	}
	return "/"
}

// thinkTime is the recorded pause before the next request, to the
// millisecond; nil when the next one started before this one ended.
func thinkTime(gap time.Duration) *scenario.ThinkTime {
	gap = gap.Round(time.Millisecond)
	if gap < time.Millisecond {
		return nil
	}
	return &scenario.ThinkTime{Distribution: "constant", Value: scenario.Duration(gap)}
}

// statusCheck expects the recorded status; a 304 came from the recording
// browser's cache, whose validators are not replayed, so any 2xx will do.
func statusCheck(status int) scenario.StatusList {
	if status == 304 {
		return scenario.StatusList{2}
	}
	return scenario.StatusList{status}
}

func (imp *harImport) notes(steps int, correlated []string, braces bool) []string {
	notes := []string{
		fmt.Sprintf("Imported by barrage import har: %d steps from %d recorded requests to %s.", steps, imp.total, imp.origin),
		fmt.Sprintf("Step URLs are paths: run it with --target (e.g. barrage run FILE --target %s, or a local copy of it).", imp.origin),
	}
	if drops := imp.dropNotes(); len(drops) > 0 {
		notes = append(notes, "Left out: "+strings.Join(drops, "; ")+".")
	}
	notes = append(notes, "Headers left out: Cookie (the per-VU cookie jar keeps what the target sets), hop-by-hop and HTTP/2 pseudo-headers, "+
		"Host, Content-Length, Accept-Encoding (bodies are read uncompressed), If-None-Match and If-Modified-Since (the browser's cache).")
	for _, c := range correlated {
		notes = append(notes, "Correlated: "+c)
	}
	if braces {
		notes = append(notes, "Recorded text held {{, which opens a template: it is written as {{ "+braceVar+" }}.")
	}
	return notes
}
