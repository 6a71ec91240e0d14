package scenario

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
)

// ParseYAML reads and validates a scenario written in YAML. Feeders must carry
// their records inline (LoadFile reads feeder files).
func ParseYAML(data []byte) (*Scenario, error) {
	s, _, err := parse(data, "")
	return s, err
}

// ParseJSON reads and validates a scenario sent as JSON (the API's format).
// Errors carry the same field paths as YAML ones, and lines of the JSON text.
func ParseJSON(data []byte) (*Scenario, error) {
	if !json.Valid(data) {
		var x any
		err := json.Unmarshal(data, &x)
		return nil, Errors{{Msg: "malformed JSON: " + strings.TrimPrefix(fmt.Sprint(err), "json: ")}}
	}
	if t := bytes.TrimSpace(data); len(t) == 0 || t[0] != '{' {
		return nil, Errors{{Msg: "a scenario must be a JSON object"}}
	}
	s, _, err := parse(data, "")
	return s, err
}

// LoadFile reads a scenario file (YAML, or JSON by its .json extension), reads
// its feeder files relative to the file's folder into inline records, and
// validates it.
func LoadFile(path string) (*Scenario, error) {
	data, err := os.ReadFile(path) // #nosec G304 -- the user's own scenario file, named on the command line
	if err != nil {
		return nil, fmt.Errorf("read scenario: %w", err)
	}
	if int64(len(data)) > MaxSize {
		return nil, fmt.Errorf("scenario %s is larger than %d bytes", path, MaxSize)
	}
	if strings.EqualFold(filepath.Ext(path), ".json") && !json.Valid(data) {
		return ParseJSON(data)
	}
	s, _, err := parse(data, filepath.Dir(path))
	return s, err
}

// parse decodes, reads feeder files when baseDir is set, and validates.
func parse(data []byte, baseDir string) (*Scenario, map[string]int, error) {
	s := &Scenario{}
	lines, err := parseDocument(data, s)
	if err != nil {
		return nil, lines, err
	}
	if baseDir != "" {
		v := &validator{lines: lines}
		for i := range s.Feeders {
			f := &s.Feeders[i]
			if f.File == "" {
				continue
			}
			path := fmt.Sprintf("feeders[%d]", i)
			if len(f.Data) > 0 {
				v.add(path+".data", "give file or data, not both")
				continue
			}
			file := f.File
			if !filepath.IsAbs(file) {
				file = filepath.Join(baseDir, file)
			}
			recs, err := readFeederFile(file, f.Format)
			if err != nil {
				v.add(path+".file", "%v", err)
				continue
			}
			f.Data, f.File, f.Format = recs, "", ""
		}
		v.inlineBodyFiles(s, baseDir)
		if len(v.errs) > 0 {
			return nil, lines, v.errs
		}
	}
	if _, err := compile(s, lines); err != nil {
		return nil, lines, err
	}
	return s, lines, nil
}

// JSON returns the scenario in the API's JSON form; ParseJSON reads it back.
func (s *Scenario) JSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // thresholds read "p95 < 300ms", not "p95 \u003c 300ms"
	if err := enc.Encode(s); err != nil {
		return nil, fmt.Errorf("encode scenario %q: %w", s.Name, err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func reflectValue(ptr any) reflect.Value { return reflect.ValueOf(ptr).Elem() }
