package activities

import (
	"testing"
	"time"

	"github.com/barrage/barrage/workflows"
)

// TestSnapshotEvery: small fleets send each interval in 250 ms parts,
// larger ones in halves, the largest whole; the fleet's snapshot rate stays
// at about 1,000 a second at most.
func TestSnapshotEvery(t *testing.T) {
	for _, tc := range []struct {
		shards, intervalMS int
		want               time.Duration
	}{{1, 1000, 250 * time.Millisecond}, {250, 1000, 250 * time.Millisecond}, {251, 1000, 500 * time.Millisecond},
		{500, 1000, 500 * time.Millisecond}, {501, 1000, time.Second}, {1000, 1000, time.Second},
		{3, 300, 300 * time.Millisecond}, {3, 2000, 500 * time.Millisecond}} {
		got := SnapshotEvery(workflows.ShardInput{Shards: tc.shards, IntervalMS: tc.intervalMS})
		if got != tc.want {
			t.Errorf("%d shards, interval %d ms: every %v, want %v", tc.shards, tc.intervalMS, got, tc.want)
		}
		if rate := float64(tc.shards) / got.Seconds(); tc.shards > 1 && rate > 1000 {
			t.Errorf("%d shards every %v: %.0f snapshots a second", tc.shards, got, rate)
		}
	}
}
