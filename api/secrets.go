package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/barrage/barrage/internal/fold"
	"github.com/barrage/barrage/internal/store"
)

// Secrets: values scenarios read as {{ secret.NAME }}. Runners and admins
// set them; nobody reads them back over the API but the workers of a run
// that uses them, with the run's token.

type secretJSON struct {
	Name      string    `json:"name"`
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by"`
}

func (s *Server) listSecrets(c *gin.Context) {
	list, err := s.secrets.List(c)
	if err != nil {
		failErr(c, err, "secrets")
		return
	}
	out := make([]secretJSON, len(list))
	for i, sc := range list {
		out[i] = secretJSON(sc)
	}
	c.JSON(http.StatusOK, gin.H{"secrets": out})
}

func (s *Server) putSecret(c *gin.Context) {
	var req struct {
		Value *string `json:"value"`
	}
	if !bindJSON(c, &req) {
		return
	}
	if req.Value == nil {
		fail(c, http.StatusBadRequest, "missing_field", "value", "value is required")
		return
	}
	if err := s.secrets.Set(c, c.Param("name"), *req.Value, actor(c)); err != nil {
		failService(c, err, "secret")
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *Server) deleteSecret(c *gin.Context) {
	if err := s.secrets.Delete(c, c.Param("name"), actor(c)); err != nil {
		failService(c, err, "secret")
		return
	}
	c.Status(http.StatusNoContent)
}

// ingestSecrets gives a run's workers the values of the secrets its
// scenario reads, and only those.
func (s *Server) ingestSecrets(c *gin.Context) {
	r, ok := s.authRun(c)
	if !ok {
		return
	}
	if store.Finished(r.Status) {
		// A run's token outlives the run; the secrets (maybe changed
		// since) are only for its shards while it runs.
		fail(c, http.StatusConflict, "finished", "", "run %s is %s: its secrets are no longer served", r.ID, r.Status)
		return
	}
	plan, err := fold.CompileRun(r)
	if err != nil {
		failErr(c, err, "scenario of run "+r.ID)
		return
	}
	values, err := s.secrets.Values(c, plan)
	if err != nil {
		failService(c, err, "secrets of run "+r.ID)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"secrets": values})
}
