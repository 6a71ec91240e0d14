package workflows

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/barrage/barrage/internal/profile"
)

// replanSoon replans after ReplanDelay, once for everything that happened
// meanwhile (shards starting, lost, failing). Runs recorded before
// batching replan at once.
func (r *run) replanSoon(ctx workflow.Context, why string) {
	if r.batching == workflow.DefaultVersion {
		_ = r.replan(ctx, why)
		return
	}
	pending := len(r.replanWhy) > 0
	if !slices.Contains(r.replanWhy, why) {
		r.replanWhy = append(r.replanWhy, why)
	}
	if pending {
		return
	}
	r.sel.AddFuture(workflow.NewTimer(ctx, ReplanDelay), func(workflow.Future) {
		why := strings.Join(r.replanWhy, ", ")
		r.replanWhy = nil
		if !r.aborted {
			_ = r.replan(ctx, why)
		}
	})
}

// replan recomputes every running shard's fraction from the fleet's
// capacities and publishes it. When the fleet cannot carry the profile, the
// run goes on at reduced load and says so.
func (r *run) replan(ctx workflow.Context, why string) error {
	if r.aborted {
		return nil
	}
	caps := make([]float64, len(r.slots))
	active := make([]bool, len(r.slots))
	for i, s := range r.slots {
		active[i] = s.state == slotRunning
		caps[i] = float64(s.maxVUs)
		if r.base.Model == profile.Open {
			caps[i] = float64(s.maxRPS)
		}
	}
	// Plan for what is left of the profile: a spike that is over does not
	// hold the rest of the run down.
	peak := r.base.Peak()
	if rest := r.base.Shift(max(workflow.Now(ctx).Sub(r.epoch), 0)); len(rest.Stages) > 0 {
		peak = rest.Peak()
	}
	fractions, served, err := profile.Shares(peak, caps, active)
	if err != nil {
		return err
	}
	r.control.Fractions = fractions
	r.control.Profile = r.base
	if served > 0 && served < 1 {
		// The fleet carries served·peak: the profile is cut there, and
		// stays as asked wherever it asks for less.
		r.control.Profile = r.base.Clamp(served * peak)
	}
	prev := r.control.Served
	r.control.Version++
	r.control.Served = served
	perr := r.publish(ctx)
	r.noteServed(ctx, prev, served, active, peak)
	if why != "start" && why != "ramp" {
		r.event(ctx, "redistributed", fmt.Sprintf("%s: %s", why, describeShares(r.slots, fractions)))
	}
	return perr
}

// noteServed records a change of the carried load as an event.
func (r *run) noteServed(ctx workflow.Context, prev, served float64, active []bool, peak float64) {
	running := 0
	for _, a := range active {
		if a {
			running++
		}
	}
	switch {
	case running == 0:
		if !r.ending {
			r.event(ctx, "load_stopped", "no shard runs: the run waits for a worker")
		}
	case served < 1 && (served < prev-1e-9 || prev == 0 && served > 0):
		r.event(ctx, "load_reduced", fmt.Sprintf("load reduced to %.1f%% of the target: the %d running worker(s) can carry %.0f of %.0f %s",
			100*served, running, served*peak, peak, unit(r.base.Model)))
	case served >= 1 && prev < 1 && prev > 0:
		r.event(ctx, "load_restored", fmt.Sprintf("the %d running worker(s) carry the whole target again", running))
	}
}

func unit(m profile.Model) string {
	if m == profile.Open {
		return "iterations/s"
	}
	return "VUs"
}

// listedShares is how many running shards an event names one by one; a
// larger fleet is summed up, so that an event's size does not grow with it.
const listedShares = 10

func describeShares(slots []*slot, fractions []float64) string {
	var parts []string
	running, lo, hi := 0, math.Inf(1), 0.0
	workers := map[string]bool{}
	for i, s := range slots {
		if s.state != slotRunning {
			continue
		}
		running++
		lo, hi = min(lo, fractions[i]), max(hi, fractions[i])
		who := s.worker
		if who == "" {
			who = "starting"
		} else {
			workers[who] = true
		}
		if running <= listedShares {
			parts = append(parts, fmt.Sprintf("shard %d (%s) %.1f%%", i, who, 100*fractions[i]))
		}
	}
	switch {
	case running == 0:
		return "no shard runs"
	case running > listedShares:
		return fmt.Sprintf("%d shards on %d workers, %.3g%% to %.3g%% each", running, len(workers), 100*lo, 100*hi)
	}
	return strings.Join(parts, ", ")
}
