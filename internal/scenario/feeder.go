package scenario

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// maxFeederFile bounds a feeder file read by LoadFile.
const maxFeederFile = MaxSize

// Feeder modes and when records are taken.
const (
	ModeCircular   = "circular"
	ModeSequential = "sequential"
	ModeRandom     = "random"
	PerIteration   = "iteration"
	PerVU          = "vu"
)

// readFeederFile loads a feeder's records from path (csv or json).
func readFeederFile(path, format string) ([]map[string]string, error) {
	f, err := os.Open(path) // #nosec G304 -- a feeder file named by the user's own scenario, read by the CLI (the server parses with no baseDir and reads no file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFeederFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFeederFile {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxFeederFile)
	}
	if format == "" {
		format = strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
	}
	switch format {
	case "csv":
		return parseCSVRecords(data)
	case "json":
		return parseJSONRecords(data)
	}
	return nil, fmt.Errorf("unknown format %q for %s (want csv or json)", format, path)
}

// parseCSVRecords reads a CSV file whose first row names the fields.
func parseCSVRecords(data []byte) ([]map[string]string, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.ReuseRecord = false
	rows, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("bad CSV: %w", err)
	}
	if len(rows) < 2 {
		return nil, errors.New("CSV needs a header row and at least one record")
	}
	header := rows[0]
	for i, h := range header {
		header[i] = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
	}
	out := make([]map[string]string, 0, len(rows)-1)
	for _, row := range rows[1:] {
		rec := make(map[string]string, len(header))
		for i, h := range header {
			rec[h] = row[i]
		}
		out = append(out, rec)
	}
	return out, nil
}

// parseJSONRecords reads a JSON array of flat objects; numbers and booleans
// become their text.
func parseJSONRecords(data []byte) ([]map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var raw []map[string]any
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("bad JSON (want an array of objects): %w", err)
	}
	if len(raw) == 0 {
		return nil, errors.New("JSON feeder has no records")
	}
	out := make([]map[string]string, len(raw))
	for i, obj := range raw {
		rec := make(map[string]string, len(obj))
		for k, v := range obj {
			switch x := v.(type) {
			case string:
				rec[k] = x
			case json.Number:
				rec[k] = x.String()
			case bool:
				rec[k] = strconv.FormatBool(x)
			case nil:
				rec[k] = ""
			default:
				return nil, fmt.Errorf("record %d field %q: nested values are not supported", i, k)
			}
		}
		out[i] = rec
	}
	return out, nil
}

// feederFields returns the field names of a feeder's records, sorted, and an
// error when the records do not all have the same fields.
func feederFields(recs []map[string]string) ([]string, error) {
	if len(recs) == 0 {
		return nil, errors.New("no records")
	}
	fields := make([]string, 0, len(recs[0]))
	for k := range recs[0] {
		fields = append(fields, k)
	}
	sort.Strings(fields)
	for i, r := range recs[1:] {
		if len(r) != len(fields) {
			return nil, fmt.Errorf("record %d has %d fields, the first has %d", i+1, len(r), len(fields))
		}
		for _, f := range fields {
			if _, ok := r[f]; !ok {
				return nil, fmt.Errorf("record %d has no field %q", i+1, f)
			}
		}
	}
	return fields, nil
}
