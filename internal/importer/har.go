package importer

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"
)

// HAROptions shape a HAR import. The zero value imports the main origin's
// requests without static assets, at the default load.
type HAROptions struct {
	Name string // the scenario's name; default "har-import"
	// KeepStatic keeps images, stylesheets, scripts, fonts and media,
	// which are dropped by default: a load test is usually after the
	// application, not a CDN.
	KeepStatic bool
	// Origin is the recorded origin that becomes the run's --target
	// (scheme://host[:port]); default: the origin with the most requests.
	Origin string
	// KeepOtherOrigins keeps requests to other origins as absolute URLs;
	// by default they are dropped, so that a run against a local target
	// sends nothing elsewhere.
	KeepOtherOrigins bool
	VUs              int
	Duration         time.Duration
}

// The HAR 1.2 fields the importer reads (http://www.softwareishard.com/blog/har-12-spec/).
type harFile struct {
	Log *struct {
		Creator struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		} `json:"creator"`
		Entries []harEntry `json:"entries"`
	} `json:"log"`
}

type harEntry struct {
	StartedDateTime string      `json:"startedDateTime"`
	Time            float64     `json:"time"`
	Request         harRequest  `json:"request"`
	Response        harResponse `json:"response"`
}

type harRequest struct {
	Method   string       `json:"method"`
	URL      string       `json:"url"`
	Headers  []harNV      `json:"headers"`
	PostData *harPostData `json:"postData"`
}

type harNV struct {
	Name     string `json:"name"`
	Value    string `json:"value"`
	FileName string `json:"fileName"`
}

type harPostData struct {
	MimeType string  `json:"mimeType"`
	Text     string  `json:"text"`
	Params   []harNV `json:"params"`
}

type harResponse struct {
	Status      int     `json:"status"`
	Headers     []harNV `json:"headers"`
	RedirectURL string  `json:"redirectURL"`
	Content     struct {
		MimeType string `json:"mimeType"`
		Text     string `json:"text"`
		Encoding string `json:"encoding"`
	} `json:"content"`
}

// rec is one recorded exchange on its way to becoming a step.
type rec struct {
	e          *harEntry
	index      int // in the HAR's entries
	u          *url.URL
	start, end time.Time
	status     int          // the final one, after the redirects merged into it
	resp       *harResponse // the final response's
	mime       string
	respBody   string
}

// HAR imports a HAR file: one step per recorded request that is kept.
func HAR(data []byte, opt HAROptions) (*Result, error) {
	var f harFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("not a HAR file: %w", err)
	}
	if f.Log == nil {
		return nil, errors.New(`not a HAR file: no "log" object at the top`)
	}
	if len(f.Log.Entries) == 0 {
		return nil, errors.New("the HAR file has no entries: nothing to import")
	}
	if opt.Origin != "" {
		u, err := url.Parse(opt.Origin)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("origin %q: want scheme://host[:port], e.g. https://shop.example.com", opt.Origin)
		}
	}
	recs, err := readEntries(f.Log.Entries)
	if err != nil {
		return nil, err
	}
	imp := &harImport{opt: opt, total: len(recs)}
	recs = imp.filter(recs)
	if len(recs) == 0 {
		return nil, fmt.Errorf("nothing to import: all %d requests were left out (%s)", imp.total, strings.Join(imp.dropNotes(), "; "))
	}
	name := opt.Name
	if name == "" {
		name = "har-import"
	}
	desc := fmt.Sprintf("imported from a HAR recording of %s", imp.origin)
	if c := f.Log.Creator; c.Name != "" {
		desc += fmt.Sprintf(" (made by %s %s)", c.Name, c.Version)
	}
	res := &Result{Scenario: newScenario(name, desc, opt.VUs, opt.Duration)}
	imp.build(res, recs)
	if err := res.check(); err != nil {
		return nil, err
	}
	return res, nil
}

func readEntries(entries []harEntry) ([]*rec, error) {
	recs := make([]*rec, 0, len(entries))
	for i := range entries {
		e := &entries[i]
		u, err := url.Parse(e.Request.URL)
		if err != nil {
			return nil, fmt.Errorf("entries[%d].request.url: %w", i, err)
		}
		start, err := time.Parse(time.RFC3339Nano, e.StartedDateTime)
		if err != nil {
			return nil, fmt.Errorf("entries[%d].startedDateTime: want an ISO 8601 time like 2024-05-01T10:00:00.000Z, got %q", i, e.StartedDateTime)
		}
		if e.Request.Method == "" {
			return nil, fmt.Errorf("entries[%d].request.method is missing", i)
		}
		r := &rec{e: e, index: i, u: u, start: start, status: e.Response.Status, resp: &e.Response, mime: mediaType(e.Response.Content.MimeType)}
		r.end = start.Add(time.Duration(max(e.Time, 0) * float64(time.Millisecond)))
		r.respBody = e.Response.Content.Text
		if strings.EqualFold(e.Response.Content.Encoding, "base64") {
			if b, err := base64.StdEncoding.DecodeString(r.respBody); err == nil {
				r.respBody = string(b)
			}
		}
		recs = append(recs, r)
	}
	// HAR writers list entries by start time, but the format does not
	// promise it: the steps and their think times follow the clock.
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].start.Before(recs[j].start) })
	return recs, nil
}

// mediaType is a Content-Type without its parameters, in lower case.
func mediaType(ct string) string {
	mt, _, _ := strings.Cut(ct, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

// originOf is scheme://host[:port] in lower case.
func originOf(u *url.URL) string {
	return strings.ToLower(u.Scheme + "://" + u.Host)
}
