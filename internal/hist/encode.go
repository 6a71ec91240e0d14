package hist

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"maps"
	"slices"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// The binary format, version 2. uv is an unsigned varint, sv a zig-zag
// signed varint (both as encoding/binary writes them), str a uv length and
// that many bytes of UTF-8.
//
//	snapshot  = "BRGS" version:byte header steps crc
//	header    = str(RunID) str(Worker) uv(Shard) uv(Attempt) uv(Seq)
//	            sv(Start.UnixNano) sv(End.UnixNano)
//	            uv(ActiveVUs) uv(TargetVUs) uv(Dropped) [uv(Iterations)]
//	steps     = uv(n) n*step
//	step      = uv(Requests) uv(Errors) uv(BytesSent) uv(BytesReceived)
//	            uv(ChecksPassed) uv(ChecksFailed) uv(Clamped)
//	            uv(n) n*(uv(status code) uv(count))   codes increasing, counts > 0
//	            uv(n) n*(uv(error class) uv(count))   classes increasing, counts > 0
//	            histogram
//	histogram = uv(lowest) uv(highest) uv(sigfigs) entry* sv(0)
//	entry     = sv(c), c > 0: the count at the current index; the index moves on by one
//	          | sv(-z), z > 0: z empty indexes are skipped (never twice in a row, never last)
//	crc       = CRC-32C (Castagnoli) of everything before it, little-endian uint32
//
// Iterations is only in version 2. A snapshot without iterations is
// written as version 1 (no Iterations field), byte for byte what earlier
// releases wrote, and both versions decode.
//
// Latency histograms are mostly empty (a few hundred of 18,432 indexes), so
// runs of zeros cost one byte and each count usually one.
const (
	magic         = "BRGS"
	formatVersion = 2
	// formatV1 has no Iterations field.
	formatV1 = 1
	crcLen   = 4
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// MarshalBinary encodes s in the format Decode reads. It refuses snapshots
// that Validate refuses, and encodings above MaxEncodedSize, so that what
// it writes always decodes.
func (s *Snapshot) MarshalBinary() ([]byte, error) {
	return s.AppendBinary(make([]byte, 0, 64+len(s.RunID)+len(s.Worker)+1024*len(s.Steps)))
}

// AppendBinary is MarshalBinary appending to b, so that a sender can reuse
// one buffer across intervals. On error it returns nil.
func (s *Snapshot) AppendBinary(b []byte) ([]byte, error) {
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("marshal snapshot: %w", err)
	}
	start := len(b)
	b = appendHeader(b, s)
	for i := range s.Steps {
		var err error
		if b, err = appendStep(b, &s.Steps[i]); err != nil {
			return nil, fmt.Errorf("marshal snapshot: step %d: %w", i, err)
		}
	}
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b[start:], castagnoli))
	if n := len(b) - start; n > MaxEncodedSize {
		return nil, fmt.Errorf("marshal snapshot: %w", badf(ErrTooLarge, "encoding is %d bytes, limit %d", n, MaxEncodedSize))
	}
	return b, nil
}

// appendHeader writes everything before the steps' data, the step count
// included.
func appendHeader(b []byte, s *Snapshot) []byte {
	b = append(b, magic...)
	if s.Iterations > 0 {
		b = append(b, formatVersion)
	} else {
		b = append(b, formatV1)
	}
	b = appendString(b, s.RunID)
	b = appendString(b, s.Worker)
	b = binary.AppendUvarint(b, uint64(s.Shard))
	b = binary.AppendUvarint(b, uint64(s.Attempt))
	b = binary.AppendUvarint(b, s.Seq)
	b = binary.AppendVarint(b, s.Start.UnixNano())
	b = binary.AppendVarint(b, s.End.UnixNano())
	b = binary.AppendUvarint(b, uint64(s.ActiveVUs))
	b = binary.AppendUvarint(b, uint64(s.TargetVUs))
	b = binary.AppendUvarint(b, s.Dropped)
	if s.Iterations > 0 {
		b = binary.AppendUvarint(b, s.Iterations)
	}
	return binary.AppendUvarint(b, uint64(len(s.Steps)))
}

func appendStep(b []byte, st *StepStats) ([]byte, error) {
	return appendHistogram(appendStepCounts(b, st), st.Latency)
}

// appendStepCounts writes a step's counters, status codes and error classes.
func appendStepCounts(b []byte, st *StepStats) []byte {
	for _, f := range st.counterFields() {
		b = binary.AppendUvarint(b, *f)
	}

	codes := slices.Sorted(maps.Keys(st.Status))
	codes = slices.DeleteFunc(codes, func(c int) bool { return st.Status[c] == 0 })
	b = binary.AppendUvarint(b, uint64(len(codes)))
	for _, c := range codes {
		b = binary.AppendUvarint(b, uint64(c)) // #nosec G115 -- Validate checked 0 <= c <= MaxStatus
		b = binary.AppendUvarint(b, st.Status[c])
	}

	var classes int
	for c := ClassTimeout; c.Valid(); c++ {
		if st.Classes[c] != 0 {
			classes++
		}
	}
	b = binary.AppendUvarint(b, uint64(classes))
	for c := ClassTimeout; c.Valid(); c++ {
		if n := st.Classes[c]; n != 0 {
			b = binary.AppendUvarint(b, uint64(c))
			b = binary.AppendUvarint(b, n)
		}
	}
	return b
}

// appendHistogram writes h's counts as runs. Export copies the dense counts
// (the library offers no other view of them); that copy is the one large
// allocation of MarshalBinary, skipped for empty histograms.
func appendHistogram(b []byte, h *hdrhistogram.Histogram) ([]byte, error) {
	b = binary.AppendUvarint(b, LowestMicros)
	b = binary.AppendUvarint(b, HighestMicros)
	b = binary.AppendUvarint(b, SigFigs)
	left := h.TotalCount()
	if left == 0 {
		return binary.AppendVarint(b, 0), nil
	}
	zeros := 0
	for i, c := range h.Export().Counts {
		if left == 0 {
			break // the rest is zeros; latencies rarely reach the top buckets
		}
		left -= c
		switch {
		case c == 0:
			zeros++
			continue
		case c < 0:
			return nil, badf(ErrInvalid, "negative histogram count at index %d", i)
		case i > maxIndex:
			return nil, badf(ErrInvalid, "histogram holds latency above %d µs", HighestMicros)
		}
		if zeros > 0 {
			b = binary.AppendVarint(b, -int64(zeros))
			zeros = 0
		}
		b = binary.AppendVarint(b, c)
	}
	return binary.AppendVarint(b, 0), nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}
