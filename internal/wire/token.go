package wire

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// IngestToken is run runID's worker token derived from the fleet token:
// the server and every worker that holds the fleet token compute it, so it
// need not travel in the run's Temporal workflow inputs, where anyone who
// can read the history would see it.
func IngestToken(fleetToken, runID string) string {
	m := hmac.New(sha256.New, []byte(fleetToken))
	m.Write([]byte("barrage ingest token\x00" + runID))
	return "run_" + hex.EncodeToString(m.Sum(nil))
}
