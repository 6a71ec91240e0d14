package fold

import (
	"time"

	"github.com/barrage/barrage/internal/store"
)

// schedule is the in-order fold state machine of one run, without a clock:
// the caller passes the time in. Interval k is due once every shard it
// waits for has sent it whole, or grace after the first shard did (after
// the interval's end, when only parts came: the run's last interval, cut
// short), whichever is first, and never before k-1. An interval that gets
// a snapshot after it was folded is folded again.
type schedule struct {
	run     *store.Run
	next    int64 // the next interval to fold in order
	pending map[int64]*pendingInterval
	refold  map[int64]bool // folded intervals with late snapshots
	last    time.Time      // when the last snapshot came
	// seen holds the latest interval each shard reported whole. Interval k
	// waits for the shards that reported k-1 or later: a shard that joined
	// counts from its first snapshot, a lost one stops counting one
	// interval after its last. Until the first fold it waits for the run's
	// worker_count.
	seen   map[int]int64
	folded bool
}

type pendingInterval struct {
	shards map[int]bool // shards that sent the interval whole
	first  time.Time    // when the first of them did
	seen   time.Time    // when its first snapshot, whole or a part, came
	end    time.Time    // the interval's end
}

// IdleAfter ends a run's schedule once nothing arrived for this long.
const IdleAfter = 2 * time.Minute

func newSchedule(r *store.Run) *schedule {
	return &schedule{run: r, pending: map[int64]*pendingInterval{}, refold: map[int64]bool{}, seen: map[int]int64{}}
}

// due is when an interval that not every shard has sent whole is folded.
func (p *pendingInterval) due(grace time.Duration) time.Time {
	if !p.first.IsZero() {
		return p.first.Add(grace)
	}
	return later(p.seen, p.end).Add(grace)
}

// arrived notes a stored snapshot of interval k from shard at now; whole:
// the shard has sent all of its interval (its last part ends at the
// interval's end).
func (s *schedule) arrived(k int64, shard int, whole bool, now time.Time) {
	s.last = now
	if last, ok := s.seen[shard]; whole && (!ok || k > last) {
		// Whole intervals only: a shard killed within an interval sent
		// parts of it, and the next one does not wait for it.
		s.seen[shard] = k
	}
	if k < s.next {
		s.refold[k] = true
		return
	}
	p := s.pending[k]
	if p == nil {
		_, end := Bounds(s.run, k)
		p = &pendingInterval{shards: map[int]bool{}, seen: now, end: end}
		s.pending[k] = p
	}
	if whole {
		if p.first.IsZero() {
			p.first = now
		}
		p.shards[shard] = true
	}
}

// step says what to fold at now, in order (late re-folds first), and how
// long to wait before asking again; done: the run has been idle for
// IdleAfter and its schedule can go.
func (s *schedule) step(now time.Time, grace time.Duration) (fold []int64, wait time.Duration, done bool) {
	for k := range s.refold {
		fold = append(fold, k)
	}
	clear(s.refold)
	for {
		k := s.next
		p := s.pending[k]
		if p == nil {
			// Interval k has no snapshot yet; if a later one has, k is empty
			// or lost: skip it once the later one's grace is over.
			nk, np := earliest(s.pending)
			switch {
			case np != nil && now.Sub(np.seen) >= grace:
				s.next = nk
				continue
			case np != nil:
				return fold, grace - now.Sub(np.seen), false
			case now.Sub(s.last) > IdleAfter:
				return fold, 0, true
			default:
				return fold, time.Minute, false
			}
		}
		if len(p.shards) < s.expected(k) && now.Before(p.due(grace)) {
			return fold, p.due(grace).Sub(now), false
		}
		delete(s.pending, k)
		s.next = k + 1
		s.folded = true
		fold = append(fold, k)
	}
}

// expected is how many shards interval k waits for (see seen).
func (s *schedule) expected(k int64) int {
	n := 0
	for _, last := range s.seen {
		if last >= k-1 {
			n++
		}
	}
	if !s.folded {
		n = max(n, s.run.WorkerCount, 1)
	}
	return n
}

func earliest(m map[int64]*pendingInterval) (int64, *pendingInterval) {
	var best int64 = -1
	for k := range m {
		if best < 0 || k < best {
			best = k
		}
	}
	if best < 0 {
		return 0, nil
	}
	return best, m[best]
}
