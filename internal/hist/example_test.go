package hist_test

import (
	"fmt"
	"time"

	"github.com/barrage/barrage/internal/hist"
)

func ExampleRecorder() {
	// A shard of a two-step scenario records every finished request.
	rec := hist.NewRecorder(2)
	for i := 1; i <= 100; i++ {
		rec.Record(0, hist.Result{Latency: time.Duration(i) * time.Millisecond, Status: 200, BytesReceived: 512})
	}
	rec.Record(1, hist.Result{Latency: 2 * time.Second, Class: hist.ClassTimeout})

	// Once a second it flushes, identifies, encodes and releases.
	start := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	snap := rec.Flush(start, start.Add(time.Second))
	snap.RunID, snap.Worker, snap.Shard, snap.Attempt, snap.Seq = "run-1", "worker-a", 0, 1, 1
	body, err := snap.MarshalBinary()
	if err != nil {
		fmt.Println(err)
		return
	}
	rec.Release(snap)

	// The server decodes each shard's body and folds the interval.
	got, err := hist.Decode(body)
	if err != nil {
		fmt.Println(err)
		return
	}
	folded, err := hist.Fold([]*hist.Snapshot{got})
	if err != nil {
		fmt.Println(err)
		return
	}
	total := folded.Total()
	fmt.Printf("requests=%d errors=%d classes=%v status=%v\n", total.Requests, total.Errors, total.Classes, total.Status)
	fmt.Printf("p50=%dµs p99=%dµs max=%dµs\n",
		hist.Percentile(total.Latency, 50), hist.Percentile(total.Latency, 99), total.Latency.Max())
	// Output:
	// requests=101 errors=1 classes=map[timeout:1] status=map[0:1 200:100]
	// p50=51007µs p99=100031µs max=2000895µs
}
