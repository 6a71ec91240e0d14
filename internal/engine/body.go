package engine

import (
	"compress/gzip"
	"sync"

	"github.com/barrage/barrage/internal/h1"
	"github.com/barrage/barrage/internal/scenario"
)

// stepBody is a step's request body as far as it can be prepared once per
// shard: a static body is rendered (and compressed) here, once.
type stepBody struct {
	tmpl     *scenario.Template // body_template
	payload  *scenario.Payload  // form, multipart, body_file
	static   []byte
	isStatic bool
	gzip     bool
	headers  []h1.Header // Content-Type, Content-Encoding
}

// newStepBody prepares ps's body; nil when the step sends none.
func newStepBody(ps *scenario.PlanStep) *stepBody {
	if ps.Body == nil && ps.Payload == nil {
		return nil
	}
	b := &stepBody{tmpl: ps.Body, payload: ps.Payload, gzip: ps.Gzip}
	if ps.Payload != nil && ps.Payload.ContentType != "" {
		b.headers = append(b.headers, h1.Header{Name: "Content-Type", Value: ps.Payload.ContentType})
	}
	if ps.Gzip {
		b.headers = append(b.headers, h1.Header{Name: "Content-Encoding", Value: "gzip"})
	}
	if ps.Body != nil {
		if s, ok := ps.Body.Static(); ok {
			b.static, b.isStatic = []byte(s), true
		}
	} else {
		b.static, b.isStatic = ps.Payload.Static()
	}
	if b.isStatic && b.gzip {
		b.static = gzipAppend(nil, b.static)
	}
	return b
}

// gzipWriters are shared by a process's VUs: a compressor holds hundreds of
// kilobytes, too much to keep one per VU.
var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed) // a valid level: never fails
	return w
}}

// appender is an io.Writer that appends to a reused slice.
type appender struct{ b []byte }

func (a *appender) Write(p []byte) (int, error) {
	a.b = append(a.b, p...)
	return len(p), nil
}

// gzipAppend appends the gzip compression of src to dst.
func gzipAppend(dst, src []byte) []byte {
	out := &appender{b: dst}
	w := gzipWriters.Get().(*gzip.Writer)
	w.Reset(out)
	_, _ = w.Write(src) // an appender never fails
	_ = w.Close()
	w.Reset(nil)
	gzipWriters.Put(w)
	return out.b
}

// renderBody returns the step's body for this request and adds the
// headers it needs.
func (v *vu) renderBody(st *stepRT) []byte {
	b := st.body
	if b == nil {
		return nil
	}
	v.headers = append(v.headers, b.headers...)
	if b.isStatic {
		return b.static
	}
	if b.tmpl != nil {
		v.bodyBuf = b.tmpl.Append(v.bodyBuf[:0], &v.env)
	} else {
		v.bodyBuf = b.payload.Append(v.bodyBuf[:0], &v.env)
	}
	if !b.gzip {
		return v.bodyBuf
	}
	v.gzBuf = gzipAppend(v.gzBuf[:0], v.bodyBuf)
	return v.gzBuf
}
