package hist

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// LogUnitComment is the comment line an interval log written by LogWriter
// carries to say its unit: HdrHistogram's tools assume none, and most
// default to nanoseconds.
const LogUnitComment = "[Latency values in microseconds (HistogramLogProcessor: -outputValueUnitRatio 1000 for milliseconds); Interval_Max in milliseconds]"

// LogWriter writes HdrHistogram's interval log: the text format of its
// HistogramLogWriter (format version 1.3), which its HistogramLogProcessor,
// HistogramLogReader and hdr-histogram-js read. After a header, each line
// is one interval's histogram, optionally tagged: start (seconds after the
// base time), length (seconds), the interval's max (ms) and the histogram in
// HdrHistogram's V2 compressed encoding, base64. Values are the package's
// microseconds. Write errors stick: after one, every call returns it.
type LogWriter struct {
	w    io.Writer
	base time.Time
	err  error
}

// NewLogWriter writes the log's header to w — the format version, comments
// (one line each; line breaks in them become spaces), the unit, the start
// and base time (base: the instant interval starts count from) and the
// column legend — and returns a writer for its intervals.
func NewLogWriter(w io.Writer, base time.Time, comments ...string) (*LogWriter, error) {
	lw := &LogWriter{w: w, base: base}
	lw.printf("#[Histogram log format version 1.3]\n")
	for _, c := range comments {
		lw.printf("#%s\n", strings.NewReplacer("\r", " ", "\n", " ").Replace(c))
	}
	lw.printf("#%s\n", LogUnitComment)
	secs := float64(base.UnixMilli()) / 1000
	lw.printf("#[StartTime: %.3f (seconds since epoch), %s]\n", secs, base.UTC().Format("2006-01-02T15:04:05.000Z07:00"))
	lw.printf("#[BaseTime: %.3f (seconds since epoch)]\n", secs)
	lw.printf("%s\n", `"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"`)
	return lw, lw.err
}

// Interval writes one interval's line: h's samples from start for length,
// tagged with tag ("" for none; LogTags makes valid ones).
func (lw *LogWriter) Interval(tag string, start time.Time, length time.Duration, h *hdrhistogram.Histogram) error {
	if lw.err != nil {
		return lw.err
	}
	if strings.ContainsAny(tag, badTagChars) {
		return fmt.Errorf("interval log: tag %q has a comma, a space or a line break", tag)
	}
	// hdrhistogram-go writes the V2 compressed encoding itself; its own log
	// writer prints times with 6 decimals and whole-second start times,
	// where the reference prints milliseconds: the lines are written here.
	enc, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return fmt.Errorf("interval log: encode histogram: %w", err)
	}
	if tag != "" {
		lw.printf("Tag=%s,", tag)
	}
	offset := float64(start.Sub(lw.base).Milliseconds()) / 1000
	lw.printf("%.3f,%.3f,%.3f,%s\n", offset, float64(length.Milliseconds())/1000, float64(h.Max())/1000, enc)
	return lw.err
}

func (lw *LogWriter) printf(format string, args ...any) {
	if lw.err == nil {
		_, lw.err = fmt.Fprintf(lw.w, format, args...)
	}
}

// badTagChars are what the log's readers split fields on.
const badTagChars = ", \t\r\n"

// LogTags returns one distinct interval-log tag per name: the name with
// commas, white space and control characters turned into "_" (a tag may
// hold none of them), "_" for an empty name, and a "~n" suffix for one that
// is already taken.
func LogTags(names []string) []string {
	tags := make([]string, len(names))
	taken := make(map[string]bool, len(names))
	for i, name := range names {
		tag := strings.Map(func(r rune) rune {
			if r <= ' ' || r == ',' || r == 0x7f || strings.ContainsRune("\u0085\u00a0\u2028\u2029", r) {
				return '_'
			}
			return r
		}, name)
		if tag == "" {
			tag = "_"
		}
		for n, base := 2, tag; taken[tag]; n++ {
			tag = base + "~" + strconv.Itoa(n)
		}
		taken[tag] = true
		tags[i] = tag
	}
	return tags
}
