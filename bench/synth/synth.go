// Package synth makes the snapshots benchmarks post and store: realistic
// traffic of a load worker (lognormal latencies per step with a heavier
// tail, a few 500s), recorded once into a small pool of templates and
// encoded cheaply with any identity.
package synth

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/barrage/barrage/internal/hist"
)

// Shape of the traffic a snapshot describes: per step and
// interval about RequestsPerStep requests, lognormal latencies around a
// median that grows with the step, a heavier tail, a few 500s.
const (
	// PoolSize is how many distinct step sets a pool records.
	PoolSize = 32
	// RequestsPerStep is each step's requests in one snapshot.
	RequestsPerStep = 100
	medianBase      = 20 * time.Millisecond
	medianPerStep   = 15 * time.Millisecond // step 4: 80 ms
	sigma           = 0.5
	tailShare       = 0.005
	tailFactor      = 10
	errorShare      = 0.01
)

// Pool is a set of pre-recorded step sets. Recording a hundred requests per
// step costs little, but encoding a hist.Snapshot copies a dense 147 KB
// array per step; the stand-ins share the cores with the server being
// measured, so each step set is kept folded in a hist.Accumulator, which
// encodes a header with its steps from the counts it holds.
type Pool struct {
	steps     int
	templates []*hist.Accumulator // read-only once built: encoded from by every stand-in
	size      int                 // bytes of the first template's encoding
}

// MeanSize is the size of an encoded snapshot, in bytes.
func (p *Pool) MeanSize() int { return p.size }

// NewPool records n step sets of steps steps each, from a fixed seed.
func NewPool(n, steps int) (*Pool, error) {
	p := &Pool{steps: steps}
	rng := rand.New(rand.NewPCG(1, 2)) // #nosec G404 -- a fixed seed on purpose: every run benches the same data
	t0 := time.Unix(1_700_000_000, 0)
	for i := range n {
		rec := hist.NewRecorder(steps)
		for step := range steps {
			median := float64(medianBase + time.Duration(step)*medianPerStep)
			for range RequestsPerStep {
				recordOne(rec, rng, step, median)
			}
		}
		full := rec.Flush(t0, t0.Add(time.Second))
		full.RunID, full.Worker, full.Seq = "template", "template", 1
		b, err := full.MarshalBinary()
		if err != nil {
			return nil, fmt.Errorf("template %d: %w", i, err)
		}
		acc := &hist.Accumulator{}
		if _, err := acc.Add(b); err != nil {
			return nil, fmt.Errorf("template %d: %w", i, err)
		}
		p.templates = append(p.templates, acc)
		if i == 0 {
			p.size = len(b)
			if err := p.check(full, b); err != nil {
				return nil, err
			}
		}
	}
	return p, nil
}

func recordOne(rec *hist.Recorder, rng *rand.Rand, step int, median float64) {
	lat := median * math.Exp(sigma*rng.NormFloat64())
	if rng.Float64() < tailShare {
		lat *= tailFactor
	}
	res := hist.Result{Latency: time.Duration(lat), Status: 200, BytesSent: 180, BytesReceived: 1200 + int64(rng.IntN(800)), ChecksPassed: 1}
	if rng.Float64() < errorShare {
		res.Status, res.Class, res.BytesReceived, res.ChecksPassed, res.ChecksFailed = 500, hist.ClassHTTP5xx, 90, 0, 1
	}
	rec.Record(step, res)
}

// Encode appends the encoding of header (its identity, bounds and VUs)
// with the steps of template t.
func (p *Pool) Encode(dst []byte, header *hist.Snapshot, t int) ([]byte, error) {
	return p.templates[t%len(p.templates)].AppendBinary(dst, header)
}

// check makes sure that Encode writes what MarshalBinary does and that the
// server's decoder takes it, so that a broken template fails here rather
// than as rejected snapshots.
func (p *Pool) check(full *hist.Snapshot, want []byte) error {
	got, err := p.Encode([]byte("junk"), full, 0)
	if err != nil {
		return err
	}
	if !bytes.Equal(got[4:], want) {
		return fmt.Errorf("the pool's encoding differs from MarshalBinary's")
	}
	s, err := hist.Decode(want)
	if err != nil {
		return fmt.Errorf("decode a template: %w", err)
	}
	if n := s.Total().Requests; n != uint64(p.steps*RequestsPerStep) { // #nosec G115 -- steps >= 0, or NewRecorder(steps) would have panicked
		return fmt.Errorf("a template holds %d requests, want %d", n, p.steps*RequestsPerStep)
	}
	return nil
}
