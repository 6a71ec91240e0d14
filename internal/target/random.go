package target

import "sync/atomic"

// splitmix64's increment (the golden ratio in 64-bit fixed point).
const golden = 0x9e3779b97f4a7c15

// stream is a lock-free seeded random source: the nth draw is splitmix64 of the
// nth state, and the state advances with one atomic add. A given seed therefore
// yields the same multiset of values for the same number of draws however
// goroutines interleave, which is what lets tests assert exact error counts.
type stream struct {
	state atomic.Uint64
}

func newStream(seed int64, salt uint64) *stream {
	s := &stream{}
	s.state.Store(mix64(uint64(seed) ^ salt)) // #nosec G115 -- the seed's bits are what count: a negative seed is as good as any
	return s
}

func (s *stream) uint64() uint64 {
	return mix64(s.state.Add(golden))
}

// float64 returns a number in [0, 1) from the top 53 bits of a draw.
func (s *stream) float64() float64 {
	return float64(s.uint64()>>11) * 0x1p-53
}

func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
