package h1

import (
	"bytes"
	"io"
)

// reader is a minimal bufio.Reader that counts consumed bytes and lets a
// header line grow the buffer up to the header bound; bufio cannot do
// either without copying.
type reader struct {
	src  io.Reader
	buf  []byte
	r, w int

	consumed int64 // bytes handed to the parser since resetCounts
	arrived  int64 // bytes read from src since resetCounts
}

func newReader(src io.Reader, size int) *reader {
	return &reader{src: src, buf: make([]byte, size)}
}

func (b *reader) resetCounts() {
	b.consumed = 0
	b.arrived = 0
}

func (b *reader) buffered() int { return b.w - b.r }

// fill reads at least one more byte into the buffer, compacting first.
// It returns io.EOF only when the peer closed with nothing more to give.
func (b *reader) fill() error {
	if b.r > 0 {
		copy(b.buf, b.buf[b.r:b.w])
		b.w -= b.r
		b.r = 0
	}
	// A zero-byte read without error is legal but useless; bound the
	// retries like bufio does so a broken src cannot spin forever.
	for range 100 {
		n, err := b.src.Read(b.buf[b.w:])
		b.w += n
		b.arrived += int64(n)
		if n > 0 {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return io.ErrNoProgress
}

// readLine returns the next line without its CRLF (a bare LF is accepted,
// as RFC 9112 allows). The line is valid until the next read. A line longer
// than limit bytes, terminator included, yields errLineTooLong.
func (b *reader) readLine(limit int) ([]byte, error) {
	scanned := 0
	for {
		if i := bytes.IndexByte(b.buf[b.r+scanned:b.w], '\n'); i >= 0 {
			end := b.r + scanned + i
			if end+1-b.r > limit {
				return nil, errLineTooLong
			}
			line := b.buf[b.r:end]
			b.consume(end + 1 - b.r)
			if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
			}
			return line, nil
		}
		scanned = b.w - b.r
		if scanned >= limit {
			return nil, errLineTooLong
		}
		if b.r == 0 && b.w == len(b.buf) {
			b.grow(limit)
		}
		if err := b.fill(); err != nil {
			return nil, err
		}
	}
}

// grow doubles the buffer, capped near limit; only an unusually long header
// line gets here, so the allocation is off the steady-state path.
func (b *reader) grow(limit int) {
	n := 2 * len(b.buf)
	if n > limit+1 {
		n = limit + 1
	}
	if n <= len(b.buf) {
		n = len(b.buf) + 1
	}
	nb := make([]byte, n)
	copy(nb, b.buf[:b.w])
	b.buf = nb
}

func (b *reader) consume(n int) {
	b.r += n
	b.consumed += int64(n)
}

// next returns up to max buffered bytes, reading when the buffer is empty,
// and consumes them.
func (b *reader) next(max int64) ([]byte, error) {
	if b.r == b.w {
		if err := b.fill(); err != nil {
			return nil, err
		}
	}
	n := b.w - b.r
	if int64(n) > max {
		n = int(max)
	}
	p := b.buf[b.r : b.r+n]
	b.consume(n)
	return p, nil
}
