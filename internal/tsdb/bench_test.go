package tsdb

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/barrage/barrage/internal/fold"
	"github.com/barrage/barrage/internal/hist"
	"github.com/barrage/barrage/internal/scenario"
	"github.com/barrage/barrage/internal/store"
)

const benchSteps = 5

// benchInterval returns one interval of a five-step run as the server has
// it: the workers' snapshots (each ~500 requests, latencies log-normal
// around 20 ms, 2% errors) and the folded row.
func benchInterval(b *testing.B, workers int) (*store.Run, *scenario.Plan, []store.Snapshot) {
	b.Helper()
	sc, err := scenario.ParseYAML([]byte(`name: bench
virtual_users: 100
duration_seconds: 60
steps:
  - {name: home, url_template: /}
  - {name: login, url_template: /login}
  - {name: search, url_template: /search}
  - {name: cart, url_template: /cart}
  - {name: checkout, url_template: /checkout}
`))
	if err != nil {
		b.Fatal(err)
	}
	doc, err := sc.JSON()
	if err != nil {
		b.Fatal(err)
	}
	epoch := time.Now().Add(-time.Hour).Truncate(time.Second)
	r := &store.Run{ID: "run-bench", Scenario: doc, Epoch: epoch, IntervalMS: 1000, Tags: map[string]string{"release": "v1"}}
	plan, err := fold.CompileRun(r)
	if err != nil {
		b.Fatal(err)
	}
	start, end := fold.Bounds(r, 0)
	snaps := make([]store.Snapshot, workers)
	for w := range workers {
		rng := rand.New(rand.NewPCG(uint64(w), 7))
		rec := hist.NewRecorder(benchSteps)
		for i := range 500 {
			res := hist.Result{Latency: time.Duration(20*math.Exp(0.7*rng.NormFloat64())*1000) * time.Microsecond, Status: 200}
			if i%50 == 0 {
				res.Status, res.Class = 503, hist.ClassHTTP5xx
			}
			rec.Record(rng.IntN(benchSteps), res)
		}
		s := rec.Flush(start, end)
		s.RunID, s.Worker, s.Shard, s.Attempt, s.Seq, s.ActiveVUs, s.TargetVUs = r.ID, fmt.Sprintf("worker-%04d", w), uint32(w), 1, 1, 10, 10
		data, err := s.MarshalBinary()
		if err != nil {
			b.Fatal(err)
		}
		snaps[w] = store.Snapshot{RunID: r.ID, Shard: w, Attempt: 1, Seq: 1, Worker: s.Worker, Data: data}
	}
	return r, plan, snaps
}

// BenchmarkExportInterval measures what pushing one folded interval costs
// the server at 100 and 1,000 workers × 5 steps — its samples, its text and
// gzip, the push to a loopback HTTP server that discards it — beside what
// folding that interval costs (fold/…), so that the export's share of the
// server's work per interval reads as a ratio.
func BenchmarkExportInterval(b *testing.B) {
	for _, workers := range []int{100, 1000} {
		r, plan, snaps := benchInterval(b, workers)
		var fo fold.Folder
		row, _, err := fo.Interval(r, 0, snaps)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("fold/workers=%d", workers), func(b *testing.B) {
			var fo fold.Folder
			for b.Loop() {
				if _, _, err := fo.Interval(r, 0, snaps); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("export/workers=%d", workers), func(b *testing.B) {
			var got atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				n, _ := io.Copy(io.Discard, req.Body)
				got.Add(n)
				w.WriteHeader(http.StatusNoContent)
			}))
			defer srv.Close()
			x, err := New(Config{URL: srv.URL})
			if err != nil {
				b.Fatal(err)
			}
			labels := labelsOf(r, plan)
			tot := newTotals(benchSteps)
			var acc hist.Accumulator
			var w writer
			var text, samples int
			ctx := context.Background()
			for b.Loop() {
				acc.Reset()
				if _, err := acc.Add(row.Data); err != nil {
					b.Fatal(err)
				}
				sum, err := fold.ReadSummary(row)
				if err != nil {
					b.Fatal(err)
				}
				tot.add(&acc)
				w.reset()
				w.interval(labels, store.StatusRunning, row, sum, tot)
				if err := x.push(ctx, &w); err != nil {
					b.Fatal(err)
				}
				text, samples = len(w.b), w.n
			}
			b.ReportMetric(float64(samples), "samples/op")
			b.ReportMetric(float64(text), "text-B/op")
			b.ReportMetric(float64(got.Load())/float64(b.N), "gzip-B/op")
		})
	}
}
