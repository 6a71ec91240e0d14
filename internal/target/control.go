package target

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// controlPrefix marks the control endpoints: never delayed, frozen, failed or counted.
const controlPrefix = "/_/"

// maxControlBody bounds a /_/config body.
const maxControlBody = 64 << 10

func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/_/health":
		if allow(w, r, http.MethodGet) {
			writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		}
	case "/_/stats":
		if allow(w, r, http.MethodGet) {
			writeJSON(w, http.StatusOK, s.statsJSON())
		}
	case "/_/reset":
		if allow(w, r, http.MethodPost) {
			s.Reset()
			writeJSON(w, http.StatusOK, s.statsJSON())
		}
	case "/_/config":
		if allow(w, r, http.MethodGet, http.MethodPost) {
			s.serveConfig(w, r)
		}
	default:
		writeJSON(w, http.StatusNotFound, errorBody{Error: "unknown control endpoint " + strconv.Quote(r.URL.Path) +
			" (have GET /_/health, GET /_/stats, POST /_/reset, GET|POST /_/config)"})
	}
}

// allow answers 405 unless r uses one of methods (HEAD counts as GET).
func allow(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m || (m == http.MethodGet && r.Method == http.MethodHead) {
			return true
		}
	}
	list := ""
	for i, m := range methods {
		if i > 0 {
			list += ", "
		}
		list += m
	}
	w.Header().Set("Allow", list)
	writeJSON(w, http.StatusMethodNotAllowed, errorBody{Error: r.Method + " not allowed on " + r.URL.Path + "; use " + list})
	return false
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	body := marshal(v)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

type statsJSON struct {
	Served        uint64            `json:"served"`
	ByStatus      map[string]uint64 `json:"by_status"`
	Abandoned     uint64            `json:"abandoned"`
	StartedAt     time.Time         `json:"started_at"`
	CountingSince time.Time         `json:"counting_since"`
	Freeze        *freezeJSON       `json:"freeze"` // null when there is no freeze
	Config        configJSON        `json:"config"`
	OnceIDs       int               `json:"once_ids"`      // distinct ids /once/{id} was called with
	OnceRepeated  uint64            `json:"once_repeated"` // calls with an id that had come before
}

type freezeJSON struct {
	Origin    time.Time `json:"origin"`
	ForMS     float64   `json:"for_ms"`
	EveryMS   float64   `json:"every_ms"`
	Frozen    bool      `json:"frozen"`
	NextStart time.Time `json:"next_start"` // the current window's start while frozen
	NextEnd   time.Time `json:"next_end"`
}

func (s *Server) statsJSON() statsJSON {
	st := s.Stats()
	out := statsJSON{
		Served:        st.Served,
		ByStatus:      make(map[string]uint64, len(st.ByStatus)),
		Abandoned:     st.Abandoned,
		StartedAt:     st.StartedAt,
		CountingSince: st.CountingSince,
		Config:        toConfigJSON(s.Config()),
		OnceIDs:       st.OnceIDs,
		OnceRepeated:  st.OnceRepeated,
	}
	for code, n := range st.ByStatus {
		out.ByStatus[strconv.Itoa(code)] = n
	}
	if f := st.Freeze; f.Enabled() {
		now := time.Now()
		_, frozen := f.Frozen(now)
		start, end := f.Next(now)
		out.Freeze = &freezeJSON{Origin: f.Origin, ForMS: millis(f.For), EveryMS: millis(f.Every),
			Frozen: frozen, NextStart: start, NextEnd: end}
	}
	return out
}

// configJSON is Config as /_/config shows it: latency as a spec, durations as
// Go duration strings.
type configJSON struct {
	Latency     string  `json:"latency"`
	ErrorRate   float64 `json:"error_rate"`
	Freeze      string  `json:"freeze"`
	FreezeEvery string  `json:"freeze_every"`
	Seed        int64   `json:"seed"`
	MaxTokens   int     `json:"max_tokens"`
}

func toConfigJSON(c Config) configJSON {
	return configJSON{Latency: c.Latency.String(), ErrorRate: c.ErrorRate, Freeze: c.FreezeFor.String(),
		FreezeEvery: c.FreezeEvery.String(), Seed: c.Seed, MaxTokens: c.MaxTokens}
}

// configPatch is a POST /_/config body; absent fields keep their value.
type configPatch struct {
	Latency     *string  `json:"latency"`
	ErrorRate   *float64 `json:"error_rate"`
	Freeze      *string  `json:"freeze"`
	FreezeEvery *string  `json:"freeze_every"`
}

func (s *Server) serveConfig(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusOK, toConfigJSON(s.Config()))
		return
	}
	var p configPatch
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxControlBody))
	// Unknown fields are refused: a misspelt "error-rate" silently ignored would
	// make a test believe it had changed the target.
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		writeJSON(w, http.StatusBadRequest, errorBody{Error: "config body must be JSON with latency, error_rate, freeze, freeze_every: " + err.Error()})
		return
	}
	change, err := p.parse()
	if err == nil {
		_, err = s.update(change)
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, errorBody{Error: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, toConfigJSON(s.Config()))
}

// parse checks every field before anything changes, so a bad patch changes nothing.
func (p configPatch) parse() (func(*Config), error) {
	var (
		lat           Latency
		freeze, every time.Duration
		err           error
	)
	if p.Latency != nil {
		if lat, err = ParseLatency(*p.Latency); err != nil {
			return nil, err
		}
	}
	if p.Freeze != nil {
		if freeze, err = time.ParseDuration(*p.Freeze); err != nil {
			return nil, fmt.Errorf("freeze: %w", err)
		}
	}
	if p.FreezeEvery != nil {
		if every, err = time.ParseDuration(*p.FreezeEvery); err != nil {
			return nil, fmt.Errorf("freeze_every: %w", err)
		}
	}
	return func(c *Config) {
		if p.Latency != nil {
			c.Latency = lat
		}
		if p.ErrorRate != nil {
			c.ErrorRate = *p.ErrorRate
		}
		if p.Freeze != nil {
			c.FreezeFor = freeze
		}
		if p.FreezeEvery != nil {
			c.FreezeEvery = every
		}
	}, nil
}
