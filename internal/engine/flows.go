package engine

import (
	"fmt"

	"github.com/barrage/barrage/internal/profile"
	"github.com/barrage/barrage/internal/scenario"
)

// Weighted flows. A shard splits its own VUs (closed model) over the
// plan's flows by weight with the quota method, the same apportionment as
// the fleet's over shards: each flow gets ⌊n·w⌋ or ⌈n·w⌉ of the shard's n
// VUs, and a VU more or less moves one flow's count by one. In the open
// model, the shard's arrivals take the flows in the quota method's seat
// order, cycling: every Cycle() arrivals the flows got exactly their
// weights. Ties go to the flow after the shard's index (the weights are
// rotated by it), so that small counts spread over flows across the
// fleet instead of all going to the first flow.

// flowRT is a plan flow with its steps prepared.
type flowRT struct {
	*scenario.PlanFlow
	steps []*stepRT
}

// flowSplit apportions this shard's VUs or arrivals over the flows.
type flowSplit struct {
	split *profile.Splitter // over the weights rotated by rot
	rot   int
	n     int
}

func newFlowSplit(flows []*scenario.PlanFlow, shard int) (*flowSplit, error) {
	n := len(flows)
	weights := make([]float64, n)
	for i, f := range flows {
		weights[i] = f.Weight
	}
	rot := shard % n
	rotated := make([]float64, n)
	for j := range rotated {
		rotated[j] = weights[(j+rot)%n]
	}
	sp, err := profile.NewSplitter(rotated)
	if err != nil {
		return nil, fmt.Errorf("engine: flow weights: %w", err)
	}
	return &flowSplit{split: sp, rot: rot, n: n}, nil
}

// count is flow f's part of total VUs.
func (fs *flowSplit) count(total, f int) int {
	if fs.n == 1 {
		return total
	}
	return fs.split.Count(total, (f-fs.rot+fs.n)%fs.n)
}

// arrival is the flow of the shard's k-th arrival (k from 0).
func (fs *flowSplit) arrival(k uint64) int {
	if fs.n == 1 {
		return 0
	}
	cycle := uint64(fs.split.Cycle())                      // #nosec G115 -- Cycle is in 1..2^16
	return (fs.split.Seat(int(k%cycle)+1) + fs.rot) % fs.n // #nosec G115 -- below 2^16
}

func (e *Engine) prepareFlows() error {
	flows := e.plan.Flows
	if len(flows) == 0 {
		// A plan made by hand, not by Compile: one flow of every step.
		flows = []*scenario.PlanFlow{{Weight: 1, End: len(e.steps)}}
	}
	fs, err := newFlowSplit(flows, e.cfg.Shard)
	if err != nil {
		return err
	}
	e.flowSplit = fs
	for _, pf := range flows {
		if pf.First < 0 || pf.End > len(e.steps) || pf.First >= pf.End {
			return fmt.Errorf("engine: flow %q has no steps", pf.Name)
		}
		e.flows = append(e.flows, &flowRT{PlanFlow: pf, steps: e.steps[pf.First:pf.End]})
	}
	return nil
}
