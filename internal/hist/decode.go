package hist

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Decode parses a snapshot written by MarshalBinary. The input is untrusted:
// anything damaged, inconsistent or over a limit is an error wrapping
// ErrCorrupt, ErrTooLarge or ErrVersion, and nothing is allocated for a
// claimed length before it is checked against the bytes that remain.
// Decoded times are in UTC.
func Decode(b []byte) (*Snapshot, error) {
	return parse(b, nil)
}

// parse reads an encoding; with sc it collects the histograms' entries
// there (Inspect, Accumulator) instead of building histograms.
func parse(b []byte, sc *scanned) (*Snapshot, error) {
	body, version, err := unseal(b)
	if err != nil {
		return nil, err
	}
	d := decoder{buf: body, step: -1, scan: sc, version: version}
	s := d.snapshot()
	if d.err == nil && len(d.buf) > 0 {
		d.fail(ErrCorrupt, "%d trailing bytes", len(d.buf))
	}
	if d.err != nil {
		return nil, d.err
	}
	// The parser checked structure; check applies the rules that relate
	// fields to each other, the same ones MarshalBinary applies.
	var samples []uint64
	if sc != nil {
		samples = sc.samples
	}
	if err := s.checkWith(ErrCorrupt, samples); err != nil {
		return nil, err
	}
	return s, nil
}

// unseal checks the envelope and returns the body between the version byte
// and the checksum, and the version. The version is checked before the checksum so that a
// future format may change how it is sealed.
func unseal(b []byte) ([]byte, byte, error) {
	if len(b) > MaxEncodedSize {
		return nil, 0, badf(ErrTooLarge, "%d bytes, limit %d", len(b), MaxEncodedSize)
	}
	if len(b) < len(magic)+1+crcLen {
		return nil, 0, badf(ErrCorrupt, "truncated: %d bytes", len(b))
	}
	if string(b[:len(magic)]) != magic {
		return nil, 0, badf(ErrCorrupt, "bad magic %q", b[:len(magic)])
	}
	v := b[len(magic)]
	if v != formatVersion && v != formatV1 {
		return nil, 0, badf(ErrVersion, "version %d, want %d or %d", v, formatV1, formatVersion)
	}
	sealed := b[:len(b)-crcLen]
	want := binary.LittleEndian.Uint32(b[len(sealed):])
	if got := crc32.Checksum(sealed, castagnoli); got != want {
		return nil, 0, badf(ErrCorrupt, "checksum %08x, want %08x", got, want)
	}
	return sealed[len(magic)+1:], v, nil
}

// decoder reads the body. The first failure sticks, later reads return
// zero values, so parsing code reads straight through and checks err before
// acting on a value (allocating, indexing).
type decoder struct {
	buf  []byte
	err  error
	step int // step being read, -1 in the header; named in errors
	// samples is the sample count of the histogram entries read last.
	samples uint64
	// scan, when set, collects histogram entries here instead of building
	// histograms (Inspect, Accumulator).
	scan *scanned
	// version is the encoding's format version.
	version byte
}

func (d *decoder) fail(kind error, format string, args ...any) {
	if d.err != nil {
		return
	}
	msg := fmt.Sprintf(format, args...)
	if d.step >= 0 {
		msg = fmt.Sprintf("step %d: %s", d.step, msg)
	}
	d.err = fmt.Errorf("%w: %s", kind, msg)
}

func (d *decoder) snapshot() *Snapshot {
	s := &Snapshot{}
	d.header(s)
	n := d.uvarint("step count")
	if d.err != nil {
		return nil
	}
	if n > MaxSteps {
		d.fail(ErrTooLarge, "%d steps, limit %d", n, MaxSteps)
		return nil
	}
	if n > uint64(len(d.buf)) {
		d.fail(ErrCorrupt, "truncated: %d steps in %d bytes", n, len(d.buf))
		return nil
	}
	s.Steps = make([]StepStats, n)
	for i := range s.Steps {
		d.step = i
		d.stepStats(&s.Steps[i])
		if d.err != nil {
			return nil
		}
	}
	return s
}

// header reads the fields before the steps, in wire order.
func (d *decoder) header(s *Snapshot) {
	s.RunID = d.str("run id")
	s.Worker = d.str("worker")
	s.Shard = d.uint32("shard")
	s.Attempt = d.uint32("attempt")
	s.Seq = d.uvarint("seq")
	s.Start = time.Unix(0, d.varint("start")).UTC()
	s.End = time.Unix(0, d.varint("end")).UTC()
	s.ActiveVUs = d.uint32("active VUs")
	s.TargetVUs = d.uint32("target VUs")
	s.Dropped = d.uvarint("dropped")
	if d.version >= formatVersion {
		s.Iterations = d.uvarint("iterations")
		if d.err == nil && s.Iterations == 0 {
			// Version 2 is only written with iterations: one encoding
			// per snapshot.
			d.fail(ErrCorrupt, "version %d without iterations", d.version)
		}
	}
}

func (d *decoder) stepStats(st *StepStats) {
	for _, f := range st.counterFields() {
		*f = d.uvarint("counter")
	}
	st.Status = make(map[int]uint64)
	d.pairs("status", MaxStatus, func(code, n uint64) { st.Status[int(code)] = n }) // #nosec G115 -- pairs checked code <= MaxStatus
	st.Classes = make(map[ErrorClass]uint64)
	d.pairs("error class", uint64(NumClasses-1), func(c, n uint64) { st.Classes[ErrorClass(c)] = n }) // #nosec G115 -- pairs checked c < NumClasses
	if d.scan == nil {
		st.Latency = d.histogram()
		return
	}
	sc := d.scan
	if d.entries(func(idx int, c int64) { sc.entries = append(sc.entries, entry{idx: int32(idx), count: c}) }) { // #nosec G115 -- entries checked 0 <= idx <= maxIndex
		sc.ends = append(sc.ends, len(sc.entries))
		sc.samples = append(sc.samples, d.samples)
	}
}

// pairs reads a counted list of (key, count) pairs with strictly increasing
// keys up to maxKey and non-zero counts, so that no key is repeated and the
// encoding of a map is unique.
func (d *decoder) pairs(what string, maxKey uint64, add func(key, n uint64)) {
	n := d.uvarint(what + " entries")
	if d.err != nil {
		return
	}
	if n > maxKey+1 || 2*n > uint64(len(d.buf)) {
		d.fail(ErrCorrupt, "%d %s entries in %d bytes", n, what, len(d.buf))
		return
	}
	next := uint64(0) // smallest key allowed next
	for range n {
		key, count := d.uvarint(what), d.uvarint(what+" count")
		switch {
		case d.err != nil:
			return
		case key > maxKey:
			d.fail(ErrCorrupt, "%s %d out of range 0..%d", what, key, maxKey)
			return
		case key < next:
			d.fail(ErrCorrupt, "%s %d out of order", what, key)
			return
		case count == 0:
			d.fail(ErrCorrupt, "%s %d has a zero count", what, key)
			return
		}
		add(key, count)
		next = key + 1
	}
}

// histogram reads the run-length entries into a histogram of the shared
// geometry.
func (d *decoder) histogram() *hdrhistogram.Histogram {
	var h *hdrhistogram.Histogram // allocated once the entries prove sound so far
	if !d.entries(func(idx int, c int64) {
		if h == nil {
			h = NewHistogram()
		}
		_ = h.RecordValues(valueAtIndex(idx), c) // cannot fail: entries checked index and total
	}) {
		return nil
	}
	if h == nil {
		h = NewHistogram()
	}
	return h
}

// entries reads a histogram's run-length entries, rejecting a foreign
// geometry, indexes past maxIndex and totals past int64, and hands each
// count to add with its index. It reports whether the histogram was sound;
// add may have seen some of a histogram that was not.
func (d *decoder) entries(add func(idx int, count int64)) bool {
	lo, hi, sig := d.uvarint("histogram lowest"), d.uvarint("histogram highest"), d.uvarint("histogram digits")
	if d.err != nil {
		return false
	}
	if lo != LowestMicros || hi != HighestMicros || sig != SigFigs {
		d.fail(ErrCorrupt, "histogram geometry %d..%d/%d, want %d..%d/%d", lo, hi, sig, LowestMicros, HighestMicros, SigFigs)
		return false
	}
	idx, total, skipped := 0, int64(0), false
	for {
		e := d.varint("histogram entry")
		switch {
		case d.err != nil:
			return false
		case e == 0 && skipped:
			d.fail(ErrCorrupt, "histogram ends with a skip")
			return false
		case e == 0:
			d.samples = uint64(total)
			return true
		case e < 0 && skipped:
			d.fail(ErrCorrupt, "histogram has two skips in a row")
			return false
		case e < 0:
			if e < -maxIndex || idx-int(e) > maxIndex {
				d.fail(ErrCorrupt, "histogram index out of range: skip %d from %d", -e, idx)
				return false
			}
			idx -= int(e)
			skipped = true
		case idx > maxIndex:
			d.fail(ErrCorrupt, "histogram index %d out of range 0..%d", idx, maxIndex)
			return false
		case e > math.MaxInt64-total:
			d.fail(ErrCorrupt, "histogram counts overflow")
			return false
		default:
			add(idx, e)
			total += e
			idx++
			skipped = false
		}
	}
}

func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.buf)
	if n <= 0 {
		if n == 0 {
			d.fail(ErrCorrupt, "truncated %s", what)
		} else {
			d.fail(ErrCorrupt, "%s overflows 64 bits", what)
		}
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) varint(what string) int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.buf)
	if n <= 0 {
		if n == 0 {
			d.fail(ErrCorrupt, "truncated %s", what)
		} else {
			d.fail(ErrCorrupt, "%s overflows 64 bits", what)
		}
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) uint32(what string) uint32 {
	v := d.uvarint(what)
	if v > math.MaxUint32 {
		d.fail(ErrCorrupt, "%s %d overflows 32 bits", what, v)
		return 0
	}
	return uint32(v)
}

// str reads a length-prefixed string; UTF-8 validity is left to check,
// which applies it to encoder and decoder alike.
func (d *decoder) str(what string) string {
	n := d.uvarint(what + " length")
	switch {
	case d.err != nil:
		return ""
	case n > MaxStringLen:
		d.fail(ErrTooLarge, "%s is %d bytes, limit %d", what, n, MaxStringLen)
		return ""
	case n > uint64(len(d.buf)):
		d.fail(ErrCorrupt, "truncated %s: %d bytes claimed, %d left", what, n, len(d.buf))
		return ""
	}
	s := string(d.buf[:n])
	d.buf = d.buf[n:]
	return s
}
