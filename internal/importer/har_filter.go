package importer

import (
	"fmt"
	"net/url"
	"path"
	"sort"
	"strings"
)

// harImport carries one HAR import's choices and what it left out.
type harImport struct {
	opt    HAROptions
	total  int
	origin string // the main origin: its requests become paths

	nonHTTP, failed, static, redirects, truncated int
	others                                        map[string]int // dropped requests by origin
}

// filter drops what does not become a step: requests that are not HTTP,
// got no response, fetch static assets, follow a redirect (the engine
// follows redirects itself) or go to another origin.
func (imp *harImport) filter(recs []*rec) []*rec {
	var out []*rec
	for _, r := range recs {
		switch {
		case r.u.Scheme != "http" && r.u.Scheme != "https":
			imp.nonHTTP++
		case r.status == 0: // HAR's "no response": blocked, aborted or from a cache
			imp.failed++
		case !imp.opt.KeepStatic && isStatic(r):
			imp.static++
		default:
			out = append(out, r)
		}
	}
	out = imp.mergeRedirects(out)
	imp.origin = imp.mainOrigin(out)
	if imp.opt.KeepOtherOrigins {
		return out
	}
	imp.others = map[string]int{}
	kept := out[:0]
	for _, r := range out {
		if o := originOf(r.u); o != imp.origin {
			imp.others[o]++
			continue
		}
		kept = append(kept, r)
	}
	return kept
}

// mergeRedirects folds a request that follows the previous one's redirect
// into it: the step's response is the last of the chain, as the engine
// (which follows redirects) will see it.
func (imp *harImport) mergeRedirects(recs []*rec) []*rec {
	var out []*rec
	for _, r := range recs {
		if n := len(out); n > 0 && follows(out[n-1], r) {
			last := out[n-1]
			last.status, last.end, last.mime, last.respBody = r.status, r.end, r.mime, r.respBody
			last.resp = r.resp
			imp.redirects++
			continue
		}
		out = append(out, r)
	}
	return out
}

// follows reports whether next is the request prev's redirect leads to.
func follows(prev, next *rec) bool {
	switch prev.status {
	case 301, 302, 303, 307, 308:
	default:
		return false
	}
	loc := prev.resp.RedirectURL
	if loc == "" {
		loc = headerValue(prev.resp.Headers, "Location")
	}
	target, err := prev.u.Parse(loc)
	if loc == "" || err != nil {
		return false
	}
	target.Fragment = ""
	same := *next.u
	same.Fragment = ""
	return target.String() == same.String()
}

// mainOrigin is the origin named by the options, else the one most
// requests went to (the first of them on a tie).
func (imp *harImport) mainOrigin(recs []*rec) string {
	if imp.opt.Origin != "" {
		u, _ := url.Parse(imp.opt.Origin) // checked by HAR
		return originOf(u)
	}
	count := map[string]int{}
	best := ""
	for _, r := range recs {
		o := originOf(r.u)
		count[o]++
		if count[o] > count[best] {
			best = o
		}
	}
	return best
}

var staticExt = map[string]bool{
	".png": true, ".jpg": true, ".jpeg": true, ".gif": true, ".svg": true, ".ico": true, ".webp": true, ".avif": true, ".bmp": true,
	".css": true, ".js": true, ".mjs": true, ".map": true,
	".woff": true, ".woff2": true, ".ttf": true, ".otf": true, ".eot": true,
	".mp4": true, ".webm": true, ".mp3": true, ".ogg": true, ".wav": true, ".m4a": true, ".flac": true,
}

// isStatic: an image, a stylesheet, a script, a font or media, by the
// response's type or the path's extension.
func isStatic(r *rec) bool {
	mt := r.mime
	for _, p := range []string{"image/", "font/", "audio/", "video/", "text/css", "application/font", "application/x-font", "application/vnd.ms-fontobject"} {
		if strings.HasPrefix(mt, p) {
			return true
		}
	}
	if strings.Contains(mt, "javascript") || strings.Contains(mt, "ecmascript") {
		return true
	}
	return staticExt[strings.ToLower(path.Ext(r.u.Path))]
}

func headerValue(hs []harNV, name string) string {
	for _, h := range hs {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

// dropNotes says what filter left out, and how to keep it.
func (imp *harImport) dropNotes() []string {
	var notes []string
	if imp.static > 0 {
		notes = append(notes, fmt.Sprintf("%d static assets (images, CSS, JavaScript, fonts, media); --keep-static keeps them", imp.static))
	}
	if len(imp.others) > 0 {
		origins := make([]string, 0, len(imp.others))
		n := 0
		for o, c := range imp.others {
			origins = append(origins, fmt.Sprintf("%s (%d)", o, c))
			n += c
		}
		sort.Strings(origins)
		notes = append(notes, fmt.Sprintf("%d requests to other origins than %s: %s; --keep-other-origins keeps them as absolute URLs",
			n, imp.origin, strings.Join(origins, ", ")))
	}
	if imp.redirects > 0 {
		notes = append(notes, fmt.Sprintf("%d requests that followed a redirect (the engine follows redirects itself)", imp.redirects))
	}
	if imp.failed > 0 {
		notes = append(notes, fmt.Sprintf("%d requests that got no response (status 0: blocked or aborted)", imp.failed))
	}
	if imp.nonHTTP > 0 {
		notes = append(notes, fmt.Sprintf("%d requests that are not http(s) (data:, blob:, ws:...)", imp.nonHTTP))
	}
	if imp.truncated > 0 {
		notes = append(notes, fmt.Sprintf("the last %d requests: a scenario has at most 256 steps", imp.truncated))
	}
	return notes
}
