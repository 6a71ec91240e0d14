package profile

import (
	"errors"
	"math"
	"time"
)

// Shares divides a load over shards with declared capacities. peak is the
// most load the profile asks for (VUs, or iterations/s); caps[i] is what
// shard i can carry in the same unit (0: no limit), active[i] whether it
// runs. Running shards get equal shares, except that none is asked for more
// than its capacity: what a capped shard cannot take goes to the others
// (water-filling). When even all of them together cannot carry peak, every
// running shard runs at its capacity and served, the fraction of the
// profile that is carried, is below 1: the run continues at reduced load.
//
// fractions has len(caps) entries, zero for shards that do not run, and
// sums to 1 when any shard runs.
func Shares(peak float64, caps []float64, active []bool) (fractions []float64, served float64, err error) {
	if len(caps) != len(active) {
		return nil, 0, errors.New("shares: caps and active differ in length")
	}
	if math.IsNaN(peak) || math.IsInf(peak, 0) || peak < 0 {
		return nil, 0, errors.New("shares: peak must be a finite number >= 0")
	}
	fractions = make([]float64, len(caps))
	var running []int
	for i, a := range active {
		if caps[i] < 0 || math.IsNaN(caps[i]) {
			return nil, 0, errors.New("shares: capacities must be >= 0")
		}
		if a {
			running = append(running, i)
		}
	}
	if len(running) == 0 {
		return fractions, 0, nil
	}
	if peak == 0 {
		for _, i := range running {
			fractions[i] = 1 / float64(len(running))
		}
		return fractions, 1, nil
	}
	load := waterFill(peak, caps, running)
	total := 0.0
	for _, i := range running {
		total += load[i]
	}
	if total <= 0 {
		return fractions, 0, nil
	}
	for _, i := range running {
		fractions[i] = load[i] / total
	}
	return fractions, math.Min(1, total/peak), nil
}

// waterFill gives each running shard an equal part of peak, capped at its
// capacity, handing what capped shards cannot take to the others.
func waterFill(peak float64, caps []float64, running []int) map[int]float64 {
	load := make(map[int]float64, len(running))
	open := append([]int(nil), running...)
	left := peak
	for len(open) > 0 && left > 1e-12 {
		each := left / float64(len(open))
		var still []int
		for _, i := range open {
			room := math.Inf(1)
			if caps[i] > 0 {
				room = caps[i] - load[i]
			}
			give := math.Min(each, room)
			load[i] += give
			left -= give
			if caps[i] == 0 || load[i] < caps[i]-1e-12 {
				still = append(still, i)
			}
		}
		if len(still) == len(open) && left > 1e-12 {
			// Nobody was capped this round: the equal split took it all.
			break
		}
		open = still
	}
	return load
}

// Clamp returns the profile with every target above limit cut to limit:
// what a fleet whose capacity is limit can carry, no less where the profile
// asks for less. Stages that cross limit are split at the crossing, placed
// on the whole nanosecond that keeps the result at or below both p and
// limit everywhere (after the crossing on the way up, before it on the way
// down), so a clamped plan never asks a worker for more than it declared.
// Where that nanosecond would be an end of the stage, the stage is not
// split: a straight line to min(b, limit) also stays below both.
func (p Profile) Clamp(limit float64) Profile {
	out := Profile{Model: p.Model, Start: math.Min(p.Start, limit)}
	prev := p.Start
	for _, st := range p.Stages {
		a, b := prev, st.Target
		prev = b
		if (a < limit && b > limit) || (a > limit && b < limit) {
			x := float64(st.Duration) * (limit - a) / (b - a)
			at := time.Duration(math.Ceil(x))
			if a > limit {
				at = time.Duration(math.Floor(x))
			}
			if at > 0 && at < st.Duration {
				out.Stages = append(out.Stages, Stage{Duration: at, Target: limit})
				out.Stages = append(out.Stages, Stage{Duration: st.Duration - at, Target: math.Min(b, limit)})
				continue
			}
		}
		out.Stages = append(out.Stages, Stage{Duration: st.Duration, Target: math.Min(b, limit)})
	}
	return out
}
