package api

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/barrage/barrage/internal/scenario"
	"github.com/barrage/barrage/internal/service"
	"github.com/barrage/barrage/internal/store"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// newID returns a time-ordered ID with a prefix: sc_20261128T061500_3f9a1c2b.
type scenarioJSON struct {
	ScenarioID string          `json:"scenario_id"`
	Version    int             `json:"version"`
	Name       string          `json:"name"`
	CreatedAt  time.Time       `json:"created_at"`
	Scenario   json.RawMessage `json:"scenario,omitempty"`
	// YAML is the scenario as YAML for people to read, secrets redacted.
	YAML string `json:"yaml,omitempty"`
}

func toScenarioJSON(s *store.Scenario, withDoc bool) scenarioJSON {
	out := scenarioJSON{ScenarioID: s.ID, Version: s.Version, Name: s.Name, CreatedAt: s.CreatedAt.UTC()}
	if withDoc {
		out.Scenario = s.Document
		out.YAML, _ = scenario.RedactedYAML(s.Document) // a stored document always parses
	}
	return out
}

// parseScenario validates a scenario body and returns its canonical JSON.
func parseScenario(c *gin.Context) (*scenario.Scenario, []byte, bool) {
	body, ok := readBody(c)
	if !ok {
		return nil, nil, false
	}
	sc, err := scenario.ParseJSON(body)
	if err != nil {
		failScenario(c, err)
		return nil, nil, false
	}
	doc, err := sc.JSON()
	if err != nil {
		failErr(c, err, "scenario")
		return nil, nil, false
	}
	return sc, doc, true
}

func (s *Server) createScenario(c *gin.Context) {
	sc, doc, ok := parseScenario(c)
	if !ok {
		return
	}
	st := &store.Scenario{ID: service.NewID("sc_"), Version: 1, Name: sc.Name, Document: doc, CreatedAt: time.Now()}
	if err := s.cfg.Store.CreateScenario(c, st); err != nil {
		failErr(c, err, "scenario")
		return
	}
	s.audit(c, "scenario.create", st.ID, "name "+st.Name)
	c.JSON(http.StatusCreated, toScenarioJSON(st, false))
}

func (s *Server) updateScenario(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	if _, err := s.cfg.Store.GetScenario(c, id, 0); err != nil {
		failErr(c, err, "scenario "+id)
		return
	}
	sc, doc, ok := parseScenario(c)
	if !ok {
		return
	}
	st, err := s.cfg.Store.UpdateScenario(c, id, sc.Name, doc)
	if err != nil {
		failErr(c, err, "scenario "+id)
		return
	}
	s.audit(c, "scenario.update", id, "version "+strconv.Itoa(st.Version))
	c.JSON(http.StatusOK, toScenarioJSON(st, false))
}

func (s *Server) getScenario(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	version := 0
	if v := c.Query("version"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			fail(c, http.StatusBadRequest, "bad_query", "version", "version must be a positive integer, got %q", v)
			return
		}
		version = n
	}
	st, err := s.cfg.Store.GetScenario(c, id, version)
	if err != nil {
		failErr(c, err, "scenario "+id)
		return
	}
	c.JSON(http.StatusOK, toScenarioJSON(st, true))
}

func (s *Server) listScenarios(c *gin.Context) {
	limit, offset, ok := paging(c)
	if !ok {
		return
	}
	list, err := s.cfg.Store.ListScenarios(c, limit, offset)
	if err != nil {
		failErr(c, err, "scenarios")
		return
	}
	out := make([]scenarioJSON, len(list))
	for i := range list {
		out[i] = toScenarioJSON(&list[i], false)
	}
	c.JSON(http.StatusOK, gin.H{"scenarios": out})
}

func (s *Server) deleteScenario(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	if err := s.cfg.Store.DeleteScenario(c, id); err != nil {
		failErr(c, err, "scenario "+id)
		return
	}
	s.audit(c, "scenario.delete", id, "")
	c.Status(http.StatusNoContent)
}

func paging(c *gin.Context) (limit, offset int, ok bool) {
	limit = 50
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			fail(c, http.StatusBadRequest, "bad_query", "limit", "limit must be 1..1000, got %q", v)
			return 0, 0, false
		}
		limit = n
	}
	if v := c.Query("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			fail(c, http.StatusBadRequest, "bad_query", "offset", "offset must be >= 0, got %q", v)
			return 0, 0, false
		}
		offset = n
	}
	return limit, offset, true
}
