package fold

import (
	"fmt"
	"time"

	"github.com/barrage/barrage/internal/scenario"
)

// errorRate is a run's abort_on policy: the error rate over the last window
// of folded intervals — every worker's requests — against the scenario's
// limit. It trips once; a caller that could not act on the trip resets it.
type errorRate struct {
	rule    scenario.AbortOn
	width   time.Duration // the run's interval
	window  map[int64][2]uint64
	tripped bool
}

func newErrorRate(rule *scenario.AbortOn, width time.Duration) *errorRate {
	if rule == nil {
		return nil
	}
	return &errorRate{rule: *rule, width: width, window: map[int64][2]uint64{}}
}

// add takes folded interval k's figures (a re-fold replaces them) and
// returns why the run must end ("" while it need not).
func (e *errorRate) add(k int64, requests, errs uint64) string {
	if e == nil || e.tripped {
		return ""
	}
	a := e.rule
	e.window[k] = [2]uint64{requests, errs}
	span := max(1, int64(time.Duration(a.WindowSeconds*float64(time.Second))/e.width))
	var total, failed uint64
	for i, c := range e.window {
		if i <= k-span {
			delete(e.window, i)
			continue
		}
		total, failed = total+c[0], failed+c[1]
	}
	if total == 0 || total < uint64(max(a.MinRequests, 0)) {
		return ""
	}
	rate := float64(failed) / float64(total)
	if rate < a.ErrorRate {
		return ""
	}
	e.tripped = true
	return fmt.Sprintf("error rate %.3f over the last %gs (%d of %d requests, all workers) reached abort_on.error_rate %g",
		rate, a.WindowSeconds, failed, total, a.ErrorRate)
}
