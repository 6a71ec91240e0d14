package reports

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"regexp"
	"time"

	"github.com/barrage/barrage/web"
)

// htmlData is what a report file embeds, for the bundle to render.
type htmlData struct {
	Report      *Report     `json:"report"`
	Baseline    *Report     `json:"baseline"`
	Comparison  *Comparison `json:"comparison"`
	GeneratedAt time.Time   `json:"generated_at"`
}

// closingTag matches what would end an inline script or style element.
var closingTag = regexp.MustCompile(`(?i)</(script|style)`)

// HTML renders a report as one self-contained HTML file: the console's
// bundle and the report's data (gzip, base64) inline, nothing fetched
// from anywhere: its Content-Security-Policy forbids every request, so
// it opens the same from file:// offline as from the server. A baseline
// (may be nil) adds overlaid series and the comparison.
func HTML(rep, baseline *Report) ([]byte, error) {
	data := htmlData{Report: rep, Baseline: baseline, GeneratedAt: time.Now().UTC()}
	if baseline != nil {
		data.Comparison = Compare(baseline, rep)
	}
	var z bytes.Buffer
	gz, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
	if err := json.NewEncoder(gz).Encode(data); err != nil {
		return nil, fmt.Errorf("report html: %w", err)
	}
	if err := gz.Close(); err != nil {
		return nil, fmt.Errorf("report html: %w", err)
	}
	script := closingTag.ReplaceAll(web.Script(), []byte(`<\/$1`))
	style := closingTag.ReplaceAll(web.Style(), []byte(`<\/$1`))
	sum := sha256.Sum256(script)
	csp := "default-src 'none'; script-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; style-src 'unsafe-inline'; img-src data: blob:; font-src 'none'; connect-src 'none'; base-uri 'none'; form-action 'none'"
	title := "Barrage report: " + rep.Scenario + " (" + rep.RunID + ")"

	var b bytes.Buffer
	b.Grow(z.Len()*4/3 + len(script) + len(style) + 1024)
	b.WriteString("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	b.WriteString(`<meta http-equiv="Content-Security-Policy" content="` + csp + "\">\n") // our constant and a base64 hash: no quote
	b.WriteString("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	stamp := web.Stamp()
	b.WriteString("<meta name=\"generator\" content=\"barrage " + html.EscapeString(stamp[:min(12, len(stamp))]) + "\">\n")
	b.WriteString("<title>" + html.EscapeString(title) + "</title>\n<style>")
	b.Write(style)
	b.WriteString("</style>\n</head>\n<body class=\"report-file\">\n<div id=\"app\"></div>\n")
	b.WriteString(`<script type="application/json" id="barrage-data">`)
	b.WriteString(base64.StdEncoding.EncodeToString(z.Bytes()))
	b.WriteString("</script>\n<script>")
	b.Write(script)
	b.WriteString("</script>\n</body>\n</html>\n")
	return b.Bytes(), nil
}
