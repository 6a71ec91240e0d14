package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/barrage/barrage/internal/store"
)

// deleteRun answers DELETE /runs/{id} (admin): a finished run and all that
// is stored of it go, in one transaction; a run still queued or running
// is refused (409: abort it first) and nothing changes. Runs that had it
// as their baseline keep its ID in baseline_run_id; their stored reports
// and threshold verdicts stay as they were, and comparing with it answers
// 404.
func (s *Server) deleteRun(c *gin.Context) {
	r, ok := s.loadRun(c)
	if !ok {
		return
	}
	err := s.cfg.Store.DeleteRun(c, r.ID)
	if errors.Is(err, store.ErrConflict) {
		fail(c, http.StatusConflict, "conflict", "", "run %s has not finished: abort it first (POST /runs/%s/abort), then delete it", r.ID, r.ID)
		return
	}
	if err != nil {
		failErr(c, err, "run "+r.ID)
		return
	}
	s.audit(c, "run.delete", r.ID, fmt.Sprintf("scenario %s v%d, %s, created %s", r.ScenarioID, r.ScenarioVersion, r.Status, r.CreatedAt.UTC().Format(time.RFC3339)))
	c.Status(http.StatusNoContent)
}
