package hist

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

func TestLogTags(t *testing.T) {
	tests := []struct {
		name  string
		names []string
		want  []string
	}{
		{name: "plain names stay", names: []string{"login", "GET/items"}, want: []string{"login", "GET/items"}},
		{name: "separators become _", names: []string{"GET /items", "a,b", "tab\there", "line\nbreak", "nbsp\u00a0x"},
			want: []string{"GET_/items", "a_b", "tab_here", "line_break", "nbsp_x"}},
		{name: "empty", names: []string{""}, want: []string{"_"}},
		{name: "collisions get a suffix", names: []string{"a b", "a_b", "a,b", "a_b~2"}, want: []string{"a_b", "a_b~2", "a_b~3", "a_b~2~2"}},
		{name: "unicode stays", names: []string{"größe"}, want: []string{"größe"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := LogTags(tt.names); !slices.Equal(got, tt.want) {
				t.Errorf("LogTags(%q) = %q, want %q", tt.names, got, tt.want)
			}
		})
	}
}

// TestLogWriterRoundTrip writes a log and reads it back with
// hdrhistogram-go's log reader: every interval's histogram, tag and times
// come back. (The Go test internal/fold TestHlogReadByHdrHistogramJS reads
// one with hdr-histogram-js, an independent implementation.)
func TestLogWriterRoundTrip(t *testing.T) {
	base := time.Date(2026, 12, 4, 10, 0, 0, 250_000_000, time.UTC)
	var buf bytes.Buffer
	lw, err := NewLogWriter(&buf, base, "[Barrage run r-1]", "two\nlines")
	if err != nil {
		t.Fatal(err)
	}
	type line struct {
		tag    string
		offset time.Duration
		length time.Duration
		h      *hdrhistogram.Histogram
	}
	var lines []line
	for k := range 3 {
		for _, tag := range []string{"", "login", "GET_/"} {
			h := NewHistogram()
			for i := range 50 * (k + 1) {
				_ = h.RecordValue(int64(100 + i*i*(len(tag)+1)))
			}
			lines = append(lines, line{tag, time.Duration(k) * time.Second, time.Second - time.Duration(k)*100*time.Millisecond, h})
		}
	}
	lines = append(lines, line{"empty", 3 * time.Second, time.Second, NewHistogram()})
	for _, l := range lines {
		if err := lw.Interval(l.tag, base.Add(l.offset), l.length, l.h); err != nil {
			t.Fatal(err)
		}
	}
	text := buf.String()
	for _, want := range []string{
		"#[Histogram log format version 1.3]\n#[Barrage run r-1]\n#two lines\n#" + LogUnitComment + "\n",
		"#[StartTime: 1796378400.250 (seconds since epoch), 2026-12-04T10:00:00.250Z]\n#[BaseTime: 1796378400.250 (seconds since epoch)]\n",
		"\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n0.000,1.000,2.501,",
		"\nTag=login,2.000,0.800,",
	} {
		if !strings.Contains(text, want) {
			t.Fatalf("the log lacks %q:\n%s", want, text)
		}
	}
	r := hdrhistogram.NewHistogramLogReader(strings.NewReader(text))
	for i, l := range lines {
		h, err := r.NextIntervalHistogram()
		if err != nil || h == nil {
			t.Fatalf("line %d: %v, %v", i, h, err)
		}
		if !h.Equals(l.h) || h.Tag() != l.tag {
			t.Fatalf("line %d: read back tag %q, %d samples; wrote tag %q, %d", i, h.Tag(), h.TotalCount(), l.tag, l.h.TotalCount())
		}
		if start := base.Add(l.offset).UnixMilli(); h.StartTimeMs() != start || h.EndTimeMs() != start+l.length.Milliseconds() {
			t.Fatalf("line %d: %d..%d ms, want %d for %v", i, h.StartTimeMs(), h.EndTimeMs(), start, l.length)
		}
	}
	if h, err := r.NextIntervalHistogram(); h != nil || err != nil {
		t.Fatalf("after the last line: %v, %v", h, err)
	}
}

type failingWriter struct{ n int }

func (w *failingWriter) Write(b []byte) (int, error) {
	if w.n <= 0 {
		return 0, errors.New("disk full")
	}
	w.n--
	return len(b), nil
}

func TestLogWriterErrors(t *testing.T) {
	if _, err := NewLogWriter(&failingWriter{n: 2}, time.Unix(0, 0)); err == nil {
		t.Fatal("a header that could not be written is no error")
	}
	w := &failingWriter{n: 5} // the header's five lines
	lw, err := NewLogWriter(w, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if err := lw.Interval("a b", time.Unix(0, 0), time.Second, NewHistogram()); err == nil || !strings.Contains(err.Error(), "a b") {
		t.Fatalf("a tag with a space: %v", err)
	}
	if err := lw.Interval("", time.Unix(0, 0), time.Second, NewHistogram()); err == nil {
		t.Fatal("a line that could not be written is no error")
	}
	if err := lw.Interval("", time.Unix(0, 0), time.Second, NewHistogram()); err == nil {
		t.Fatal("a write error does not stick")
	}
}
