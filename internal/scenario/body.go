package scenario

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Multipart is a multipart/form-data body: text fields, whose values are
// templates, then files.
type Multipart struct {
	Fields map[string]string `yaml:"fields,omitempty" json:"fields,omitempty"`
	Files  []MultipartFile   `yaml:"files,omitempty" json:"files,omitempty"`
}

// MultipartFile is one file part of a multipart body. File is read
// relative to the scenario file by LoadFile, which replaces it with
// DataBase64 so that a scenario sent to a server carries the bytes.
type MultipartFile struct {
	Field       string `yaml:"field" json:"field"`
	File        string `yaml:"file,omitempty" json:"file,omitempty"`
	DataBase64  string `yaml:"data_base64,omitempty" json:"data_base64,omitempty"`
	ContentType string `yaml:"content_type,omitempty" json:"content_type,omitempty"` // default application/octet-stream
	Filename    string `yaml:"filename,omitempty" json:"filename,omitempty"`         // default: File's base name
}

// Limits of the files a scenario sends as bodies: each is sent inline with
// the scenario, which must stay under MaxSize once base64-encoded.
const (
	MaxBodyFile  = 1 << 20 // one body_file or multipart file
	MaxBodyFiles = 4 << 20 // all of a scenario's
)

// Payload is a form, multipart or file body: literal bytes and templates
// rendered per request.
type Payload struct {
	// ContentType is sent when the step's headers have none ("": none).
	ContentType string
	parts       []payloadPart
}

type payloadPart struct {
	lit    []byte
	t      *Template
	escape bool // URL-encode the rendered value (form fields)
}

// Static returns the body when it has no templates.
func (p *Payload) Static() ([]byte, bool) {
	switch {
	case len(p.parts) == 0:
		return []byte{}, true
	case len(p.parts) == 1 && p.parts[0].t == nil:
		return p.parts[0].lit, true
	}
	return nil, false
}

// Append renders the body onto dst.
func (p *Payload) Append(dst []byte, env *Env) []byte {
	for i := range p.parts {
		pt := &p.parts[i]
		switch {
		case pt.t == nil:
			dst = append(dst, pt.lit...)
		case pt.escape:
			dst = append(dst, url.QueryEscape(pt.t.Render(env))...)
		default:
			dst = pt.t.Append(dst, env)
		}
	}
	return dst
}

func (p *Payload) lit(b []byte) {
	if n := len(p.parts); n > 0 && p.parts[n-1].t == nil {
		p.parts[n-1].lit = append(p.parts[n-1].lit, b...)
		return
	}
	p.parts = append(p.parts, payloadPart{lit: append([]byte(nil), b...)})
}

func (p *Payload) template(t *Template, escape bool) {
	if s, ok := t.Static(); ok {
		if escape {
			s = url.QueryEscape(s)
		}
		p.lit([]byte(s))
		return
	}
	p.parts = append(p.parts, payloadPart{t: t, escape: escape})
}

// compileBody compiles the step's body (at most one of body_template,
// form, multipart, body_file), its gzip and its trace.
func (v *validator) compileBody(path string, s *Scenario, src Step, st *PlanStep, resolve resolver) {
	st.Trace = s.Trace
	if src.Trace != nil {
		st.Trace = *src.Trace
	}
	var given []string
	for _, b := range []struct {
		name string
		set  bool
	}{
		{"body_template", src.BodyTemplate != ""}, {"form", len(src.Form) > 0}, {"multipart", src.Multipart != nil},
		{"body_file", src.BodyFile != "" || src.BodyBase64 != ""},
	} {
		if b.set {
			given = append(given, b.name)
		}
	}
	if len(given) > 1 {
		v.add(path+"."+given[1], "a step has one body: give only one of body_template, form, multipart, body_file (got %s)", strings.Join(given, " and "))
		return
	}
	switch {
	case src.BodyTemplate != "":
		t, err := compileTemplate(src.BodyTemplate, resolve)
		if err != nil {
			v.add(path+".body_template", "%v", err)
		}
		st.Body = t
	case len(src.Form) > 0:
		st.Payload = v.compileForm(path+".form", src.Form, resolve)
	case src.Multipart != nil:
		st.Payload = v.compileMultipart(path+".multipart", src.Multipart, resolve)
		// Its Content-Type carries the boundary: it replaces any other.
		st.Headers = withoutHeader(st.Headers, "Content-Type")
	case len(given) == 1:
		st.Payload = v.compileBodyFile(path, src)
	}
	if st.Payload != nil && hasHeader(st.Headers, "Content-Type") {
		st.Payload.ContentType = ""
	}
	if src.Gzip {
		switch {
		case len(given) == 0:
			v.add(path+".gzip", "compresses the request body, and the step has none")
		case hasHeader(st.Headers, "Content-Encoding"):
			v.add(path+".gzip", "sets Content-Encoding: gzip itself; remove the step's Content-Encoding header")
		}
		st.Gzip = true
	}
}

func (v *validator) compileForm(path string, form map[string]string, resolve resolver) *Payload {
	p := &Payload{ContentType: "application/x-www-form-urlencoded"}
	for i, name := range sortedKeys(form) {
		if name == "" {
			v.add(path, "a field name is empty")
			continue
		}
		t, err := compileTemplate(form[name], resolve)
		if err != nil {
			v.add(path+"."+name, "%v", err)
			continue
		}
		if i > 0 {
			p.lit([]byte("&"))
		}
		p.lit([]byte(url.QueryEscape(name) + "="))
		p.template(t, true)
	}
	return p
}

func (v *validator) compileMultipart(path string, m *Multipart, resolve resolver) *Payload {
	if len(m.Fields) == 0 && len(m.Files) == 0 {
		v.add(path, "needs fields or files")
		return nil
	}
	files := make([][]byte, len(m.Files))
	sum := sha256.New()
	for i, f := range m.Files {
		files[i] = v.multipartFile(fmt.Sprintf("%s.files[%d]", path, i), f)
		sum.Write(files[i])
	}
	names := sortedKeys(m.Fields)
	for _, name := range names {
		sum.Write([]byte(name + "\x00" + m.Fields[name] + "\x00"))
	}
	// A boundary derived from the content cannot occur in it (short of a
	// file holding its own hash), and is the same on every worker.
	boundary := "barrage-" + hex.EncodeToString(sum.Sum(nil)[:12])
	p := &Payload{ContentType: "multipart/form-data; boundary=" + boundary}
	for _, name := range names {
		if !v.partName(path+".fields."+name, name) {
			continue
		}
		t, err := compileTemplate(m.Fields[name], resolve)
		if err != nil {
			v.add(path+".fields."+name, "%v", err)
			continue
		}
		p.lit([]byte("--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + quoteEscaper.Replace(name) + "\"\r\n\r\n"))
		p.template(t, false)
		p.lit([]byte("\r\n"))
	}
	for i, f := range m.Files {
		ct := f.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		p.lit([]byte("--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + quoteEscaper.Replace(f.Field) +
			"\"; filename=\"" + quoteEscaper.Replace(f.Filename) + "\"\r\nContent-Type: " + ct + "\r\n\r\n"))
		p.lit(files[i])
		p.lit([]byte("\r\n"))
	}
	p.lit([]byte("--" + boundary + "--\r\n"))
	return p
}

var quoteEscaper = strings.NewReplacer("\\", "\\\\", `"`, "\\\"")

// multipartFile checks one file part and returns its bytes.
func (v *validator) multipartFile(path string, f MultipartFile) []byte {
	v.partName(path+".field", f.Field)
	if strings.ContainsAny(f.Filename+f.ContentType, "\r\n") {
		v.add(path, "filename and content_type may not hold line breaks")
	}
	if f.File != "" {
		v.add(path+".file", "files are read only when the scenario is loaded from a file (barrage run FILE); send the bytes inline as data_base64")
		return nil
	}
	if f.DataBase64 == "" {
		v.add(path, "needs file (or data_base64)")
		return nil
	}
	return v.decodeBody(path+".data_base64", f.DataBase64)
}

func (v *validator) partName(path, name string) bool {
	if strings.TrimSpace(name) == "" || strings.ContainsAny(name, "\r\n") {
		v.add(path, "a part needs a name without line breaks")
		return false
	}
	return true
}

func (v *validator) compileBodyFile(path string, src Step) *Payload {
	if src.BodyFile != "" {
		v.add(path+".body_file", "files are read only when the scenario is loaded from a file (barrage run FILE); send the bytes inline as body_base64")
		return nil
	}
	data := v.decodeBody(path+".body_base64", src.BodyBase64)
	p := &Payload{}
	p.lit(data)
	return p
}

func (v *validator) decodeBody(path, b64 string) []byte {
	if base64.StdEncoding.DecodedLen(len(b64)) > MaxBodyFile+3 {
		v.add(path, "is larger than %d bytes", MaxBodyFile)
		return nil
	}
	data, err := base64.StdEncoding.DecodeString(b64)
	switch {
	case err != nil:
		v.add(path, "is not base64: %v", err)
		return nil
	case len(data) > MaxBodyFile:
		v.add(path, "is larger than %d bytes", MaxBodyFile)
		return nil
	}
	return data
}

// inlineBodyFiles reads the body_file and multipart files of s, relative to
// baseDir, into body_base64 and data_base64.
func (v *validator) inlineBodyFiles(s *Scenario, baseDir string) {
	total := 0
	read := func(path, file string) (string, bool) {
		if !filepath.IsAbs(file) {
			file = filepath.Join(baseDir, file)
		}
		data, err := readBodyFile(file)
		if err != nil {
			v.add(path, "%v", err)
			return "", false
		}
		if total += len(data); total > MaxBodyFiles {
			v.add(path, "the scenario's body files add up to more than %d bytes", MaxBodyFiles)
			return "", false
		}
		return base64.StdEncoding.EncodeToString(data), true
	}
	for _, ref := range s.stepRefs() {
		st, path := ref.src, ref.path
		switch {
		case st.BodyFile != "" && st.BodyBase64 != "":
			v.add(path+".body_base64", "give body_file or body_base64, not both")
		case st.BodyFile != "":
			if b, ok := read(path+".body_file", st.BodyFile); ok {
				st.BodyBase64, st.BodyFile = b, ""
			}
		}
		if st.Multipart == nil {
			continue
		}
		for j := range st.Multipart.Files {
			f := &st.Multipart.Files[j]
			fp := fmt.Sprintf("%s.multipart.files[%d]", path, j)
			switch {
			case f.File == "":
			case f.DataBase64 != "":
				v.add(fp+".data_base64", "give file or data_base64, not both")
			default:
				if b, ok := read(fp+".file", f.File); ok {
					if f.Filename == "" {
						f.Filename = filepath.Base(f.File)
					}
					f.DataBase64, f.File = b, ""
				}
			}
		}
	}
}

func readBodyFile(path string) ([]byte, error) {
	f, err := os.Open(path) // #nosec G304 -- a body file named by the user's own scenario, read by the CLI (the server parses with no baseDir and reads no file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxBodyFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxBodyFile {
		return nil, fmt.Errorf("%s is larger than %d bytes (the limit of a body file)", path, MaxBodyFile)
	}
	return data, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func hasHeader(hs []HeaderTemplate, name string) bool {
	for _, h := range hs {
		if strings.EqualFold(h.Name, name) {
			return true
		}
	}
	return false
}

func withoutHeader(hs []HeaderTemplate, name string) []HeaderTemplate {
	out := hs[:0:0]
	for _, h := range hs {
		if !strings.EqualFold(h.Name, name) {
			out = append(out, h)
		}
	}
	return out
}
