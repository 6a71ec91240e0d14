package api

import (
	"context"
	"runtime/pprof"
	"strings"

	"github.com/gin-gonic/gin"
)

// ProfileLabel is the pprof label key under which the server's CPU work is
// attributed: a CPU profile of a server process (go tool pprof -tagfocus,
// or bench/fleet) tells ingest, folding and live streams apart.
const ProfileLabel = "barrage"

// Values of ProfileLabel.
const (
	LabelIngest = "ingest" // the fleet's /ingest/ requests
	LabelFold   = "fold"   // folding intervals
	LabelStream = "stream" // live (SSE) metric streams
	LabelAPI    = "api"    // every other request
)

// labelWork runs each request under the pprof label of its kind.
func labelWork(c *gin.Context) {
	kind := LabelAPI
	switch p := c.Request.URL.Path; {
	case strings.HasPrefix(p, "/ingest/"):
		kind = LabelIngest
	case strings.HasPrefix(p, "/runs/") && strings.HasSuffix(p, "/metrics"):
		kind = LabelStream
	}
	pprof.Do(c.Request.Context(), pprof.Labels(ProfileLabel, kind), func(context.Context) { c.Next() })
}

// labelled runs f under the pprof label kind.
func labelled(kind string, f func()) {
	pprof.Do(context.Background(), pprof.Labels(ProfileLabel, kind), func(context.Context) { f() })
}
