package api

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/barrage/barrage/internal/fold"
	"github.com/barrage/barrage/internal/store"
)

// getHlog serves a run's latency as HdrHistogram's interval log
// (latency.hlog): one untagged line per interval, and one per step tagged
// with its name; values in µs.
func (s *Server) getHlog(c *gin.Context) {
	r, ok := s.loadRun(c)
	if !ok {
		return
	}
	// The log is written as it is read, a page of intervals at a time: a
	// long run's is tens of megabytes.
	w := &startedWriter{ResponseWriter: c.Writer}
	err := fold.WriteHlog(c, s.cfg.Store, r, w)
	switch {
	case err == nil:
	case errors.Is(err, fold.ErrNoData) && store.Finished(r.Status):
		fail(c, http.StatusConflict, "no_data", "", "run %s is %s and recorded no latency: there is no interval to log", r.ID, r.Status)
	case errors.Is(err, fold.ErrNoData):
		fail(c, http.StatusConflict, "no_data", "", "run %s is %s and has no latency data yet: try again once its first interval is folded (about a second after its load starts)", r.ID, r.Status)
	case !w.started:
		failErr(c, err, "latency log of run "+r.ID)
	default:
		cutShort(c)
	}
}

// startedWriter sets the log's headers on its first write, so that an
// error before it can still be answered as JSON.
type startedWriter struct {
	gin.ResponseWriter
	started bool
}

func (w *startedWriter) Write(b []byte) (int, error) {
	if !w.started {
		w.started = true
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Content-Disposition", `inline; filename="latency.hlog"`)
	}
	return w.ResponseWriter.Write(b)
}

// cutShort ends an answer that failed after its first bytes were sent by
// closing the connection before the body's end, so that the client sees an
// error instead of a shorter log that looks whole. (Over HTTP/2, where the
// connection cannot be taken, the stream just ends.)
func cutShort(c *gin.Context) {
	conn, _, err := http.NewResponseController(c.Writer).Hijack()
	if err == nil {
		_ = conn.Close()
	}
	c.Abort()
}
