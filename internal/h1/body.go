package h1

import (
	"io"
	"math"
)

// bodySink counts nothing itself (the reader does) and keeps the first max
// bytes when capturing.
type bodySink struct {
	resp    *Response
	capture bool
	max     int
}

func (s *bodySink) write(p []byte) {
	if !s.capture {
		return
	}
	if room := s.max - len(s.resp.Body); room > 0 {
		if len(p) > room {
			p = p[:room]
		}
		s.resp.Body = append(s.resp.Body, p...)
	}
}

func readFixed(rd *reader, n int64, sink *bodySink) error {
	for n > 0 {
		p, err := rd.next(n)
		if err != nil {
			if err == io.EOF {
				return io.ErrUnexpectedEOF
			}
			return err
		}
		sink.write(p)
		n -= int64(len(p))
	}
	return nil
}

// readUntilEOF reads a body delimited by the server closing the
// connection; there the close is the normal end, not an error.
func readUntilEOF(rd *reader, sink *bodySink) error {
	for {
		p, err := rd.next(math.MaxInt64)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		sink.write(p)
	}
}

// readChunked reads chunks, then the trailer section, whose fields join
// the captured headers.
func readChunked(rd *reader, resp *Response, capture headerCapture, sink *bodySink) error {
	for {
		line, err := rd.readLine(maxChunkLine)
		if err != nil {
			if err == errLineTooLong {
				return protoErr("chunk size line longer than %d bytes", maxChunkLine)
			}
			return lineErr(err)
		}
		size, ok := parseChunkSize(line)
		if !ok {
			return protoErr("bad chunk size line %q", clip(line))
		}
		if size == 0 {
			return readFields(rd, resp, capture, rd.consumed, nil)
		}
		if err := readFixed(rd, size, sink); err != nil {
			return err
		}
		line, err = rd.readLine(2)
		if err != nil {
			if err == errLineTooLong {
				return protoErr("chunk data longer than its size")
			}
			return lineErr(err)
		}
		if len(line) != 0 {
			return protoErr("chunk data longer than its size")
		}
	}
}

// parseChunkSize reads the hex size, ignoring chunk extensions after ';'.
func parseChunkSize(line []byte) (int64, bool) {
	var n int64
	digits := 0
	for _, c := range line {
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return n, digits > 0 && validChunkTail(line[digits:])
		}
		if n > maxBodyLength>>4 {
			return 0, false
		}
		n = n<<4 | int64(d)
		digits++
	}
	return n, digits > 0
}

// validChunkTail accepts whitespace before an extension, as servers in the
// wild emit "1a ; name=value".
func validChunkTail(tail []byte) bool {
	tail = trimOWS(tail)
	return len(tail) == 0 || tail[0] == ';'
}
