package store

import (
	"fmt"
	"slices"
)

// Sequential feeders across shards. A sequential feeder hands out each of
// its records once per run, whatever the shards do: the store keeps, per
// run and feeder, the range of records each shard may use, and a shard
// claims them in blocks before it uses them (FeedRows, ClaimRecords).
//
//   - The run's first shards split the records as partition does: shard i
//     of n gets [total·i/n, total·(i+1)/n).
//   - A lost shard's unclaimed rest is released (ReleaseRecords) to a pool
//     row; records it had claimed and not used are never used.
//   - A shard without records left (a replacement, a worker that joined,
//     one whose share ran dry) takes a released rest first, else the upper
//     half of the largest range no shard has reached yet (its last record
//     whole). So a claim answered with none means that every record was
//     handed out, save those of lost shards not released yet.
//
// A run's shared iterations are claimed the same way, as the records of
// the feeder scenario.IterationsFeeder, with one difference: their
// indexes mean nothing, only their count. So a lost shard's iterations
// that were granted and not done — its delivered snapshots count what it
// did — are released too (ReleaseIterations), as a longer rest: none is
// lost, and none that a snapshot counts is done again.

// RecordClaim asks for the next N records of a run's sequential feeder.
type RecordClaim struct {
	RunID  string
	Feeder string
	Shard  int
	Shards int // the run's first shards, which split the records at first
	Total  int // the feeder's records
	N      int
}

// FeedRow is one shard's range of a feeder: claimed up to Next, may claim
// up to Hi. Shard < 0 is the released rest of lost shard -1-Shard; a lost
// shard's own row is Next = Hi = -1 (it gets nothing more). Granted counts
// what the shard was granted over the run, from whichever ranges.
type FeedRow struct {
	Shard    int
	Next, Hi int
	Granted  int
}

func (c *RecordClaim) validate() error {
	if c.RunID == "" || c.Feeder == "" || c.Shard < 0 || c.Shards < 1 || c.Total < 0 || c.N < 1 {
		return fmt.Errorf("claim records: bad claim %+v", *c)
	}
	return nil
}

// firstRows are the ranges of a run's first shards.
func firstRows(shards, total int) []FeedRow {
	rows := make([]FeedRow, shards)
	for i := range rows {
		rows[i] = FeedRow{Shard: i, Next: total * i / shards, Hi: total * (i + 1) / shards}
	}
	return rows
}

// planClaim decides a claim over a feeder's rows (all of them; none yet:
// the first shards' are made). It returns the records granted, [lo, hi)
// (empty when none are left anywhere), and the rows to write.
func planClaim(rows []FeedRow, c RecordClaim) (lo, hi int, write []FeedRow) {
	if len(rows) == 0 {
		rows = firstRows(c.Shards, c.Total)
		write = slices.Clone(rows)
	}
	mine := slices.IndexFunc(rows, func(r FeedRow) bool { return r.Shard == c.Shard })
	if mine >= 0 && rows[mine].Hi < 0 {
		// Released: the shard was taken as lost. Alive after all (cut off,
		// say), it gets nothing more: its rest is another shard's now.
		return 0, 0, write
	}
	if mine < 0 {
		rows = append(rows, FeedRow{Shard: c.Shard})
		mine = len(rows) - 1
	}
	if rows[mine].Next >= rows[mine].Hi {
		// Nothing left of its own: a released rest, else half of the
		// largest range nobody has reached.
		if from := largest(rows, mine, true); from >= 0 {
			rows[mine].Next, rows[mine].Hi = rows[from].Next, rows[from].Hi
			rows[from].Next = rows[from].Hi
			write = upsert(write, rows[from])
		} else if from := largest(rows, mine, false); from >= 0 {
			// The last record of a range goes whole: a shard told none
			// is left then knows that every record was handed out
			// (shared iterations end the run on it).
			mid := rows[from].Next + (rows[from].Hi-rows[from].Next+1)/2
			if rows[from].Hi-rows[from].Next == 1 {
				mid = rows[from].Next
			}
			rows[mine].Next, rows[mine].Hi = mid, rows[from].Hi
			rows[from].Hi = mid
			write = upsert(write, rows[from])
		}
	}
	r := &rows[mine]
	lo = r.Next
	hi = min(r.Hi, r.Next+c.N)
	r.Next = hi
	r.Granted += hi - lo
	return lo, hi, upsert(write, *r)
}

// largest returns the row other than mine with the most records left,
// among the released rests (pool) or among the shards' ranges; -1 if none
// has any.
func largest(rows []FeedRow, mine int, pool bool) int {
	best := -1
	for i, r := range rows {
		if i == mine || (r.Shard < 0) != pool || r.Next >= r.Hi {
			continue
		}
		if best < 0 || r.Hi-r.Next > rows[best].Hi-rows[best].Next {
			best = i
		}
	}
	return best
}

// planRelease releases a lost shard's unclaimed rest (made from the first
// split when the shard never claimed, or nothing is stored yet). With done
// >= 0 (shared iterations) the rest also holds those of its granted ones
// that were not done. It returns the rows to write.
func planRelease(rows []FeedRow, shard, shards, total, done int) []FeedRow {
	var write []FeedRow
	if len(rows) == 0 {
		rows = firstRows(shards, total)
		write = slices.Clone(rows)
	}
	i := slices.IndexFunc(rows, func(r FeedRow) bool { return r.Shard == shard })
	if i < 0 {
		// It never claimed: nothing is its, and it gets nothing later.
		return upsert(write, FeedRow{Shard: shard, Next: -1, Hi: -1})
	}
	if rows[i].Hi < 0 {
		return write // released already
	}
	released := FeedRow{Shard: shard, Next: -1, Hi: -1, Granted: rows[i].Granted}
	redo := 0
	if done >= 0 {
		redo = max(rows[i].Granted-done, 0)
	}
	if rows[i].Next >= rows[i].Hi && redo == 0 {
		return upsert(write, released)
	}
	// Indexes of iterations mean nothing: the rest is longer by those
	// to do again.
	rest := FeedRow{Shard: -1 - shard, Next: rows[i].Next, Hi: rows[i].Hi + redo}
	return upsert(upsert(write, released), rest)
}

func upsert(rows []FeedRow, r FeedRow) []FeedRow {
	if i := slices.IndexFunc(rows, func(x FeedRow) bool { return x.Shard == r.Shard }); i >= 0 {
		rows[i] = r
		return rows
	}
	return append(rows, r)
}
