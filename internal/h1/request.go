package h1

import (
	"fmt"
	"strconv"
)

// requestShape is what appendRequest needs to know about a validated
// Request before writing it.
type requestShape struct {
	method, target, host             string
	hasHost, hasUA, hasLength, hasTE bool
	closeAfter                       bool // caller sent "Connection: close"
}

// appendRequest validates req and appends its wire form, body excluded, to
// dst. closeAfter reports a caller-supplied "Connection: close", after which
// the connection must not be reused.
func appendRequest(dst []byte, req *Request, userAgent string) (out []byte, closeAfter bool, err error) {
	s, err := inspect(req)
	if err != nil {
		return dst, false, err
	}
	dst = append(dst, s.method...)
	dst = append(dst, ' ')
	dst = append(dst, s.target...)
	dst = append(dst, " HTTP/1.1\r\n"...)
	if !s.hasHost {
		dst = appendField(dst, "Host", s.host)
	}
	if !s.hasUA && userAgent != "" {
		dst = appendField(dst, "User-Agent", userAgent)
	}
	for i := range req.Header {
		dst = appendField(dst, req.Header[i].Name, req.Header[i].Value)
	}
	if !s.hasLength && !s.hasTE && (len(req.Body) > 0 || expectsBody(s.method)) {
		dst = append(dst, "Content-Length: "...)
		dst = strconv.AppendInt(dst, int64(len(req.Body)), 10)
		dst = append(dst, "\r\n"...)
	}
	return append(dst, "\r\n"...), s.closeAfter, nil
}

// inspect applies the defaults and checks every byte that reaches the wire:
// it costs little next to a syscall and keeps a scenario value with a stray
// CRLF from smuggling a second request.
func inspect(req *Request) (requestShape, error) {
	s := requestShape{method: req.Method, target: req.Target, host: req.Host}
	if s.method == "" {
		s.method = "GET"
	}
	if s.target == "" {
		s.target = "/"
	}
	if s.host == "" {
		s.host = req.Addr
	}
	switch {
	case !validToken(s.method):
		return s, fmt.Errorf("%w: method %q", ErrInvalidRequest, s.method)
	case !validTarget(s.target):
		return s, fmt.Errorf("%w: target %q", ErrInvalidRequest, s.target)
	case !validValue(s.host):
		return s, fmt.Errorf("%w: host %q", ErrInvalidRequest, s.host)
	}
	for i := range req.Header {
		h := &req.Header[i]
		if !validToken(h.Name) || !validValue(h.Value) {
			return s, fmt.Errorf("%w: header %q", ErrInvalidRequest, h.Name)
		}
		switch {
		case equalFoldString(h.Name, "host"):
			s.hasHost = true
		case equalFoldString(h.Name, "user-agent"):
			s.hasUA = true
		case equalFoldString(h.Name, "content-length"):
			s.hasLength = true
		case equalFoldString(h.Name, "transfer-encoding"):
			s.hasTE = true
		case equalFoldString(h.Name, "connection"):
			s.closeAfter = s.closeAfter || hasToken(h.Value, "close")
		}
	}
	return s, nil
}

func appendField(dst []byte, name, value string) []byte {
	dst = append(dst, name...)
	dst = append(dst, ": "...)
	dst = append(dst, value...)
	return append(dst, "\r\n"...)
}

// expectsBody lists the methods for which servers expect framing even when
// the body is empty; without Content-Length: 0 some wait for a body.
func expectsBody(method string) bool {
	return method == "POST" || method == "PUT" || method == "PATCH"
}

func validToken[T string | []byte](s T) bool {
	if len(s) == 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// validTarget accepts any visible byte: the target is the scenario's to
// shape, the client only guards the framing.
func validTarget(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] == 0x7f {
			return false
		}
	}
	return true
}

func validValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '\r' || c == '\n' || c == 0 {
			return false
		}
	}
	return true
}

// hasToken reports whether the comma-separated list v holds lowerTok,
// ignoring case and optional whitespace.
func hasToken[T string | []byte](v T, lowerTok string) bool {
	for len(v) > 0 {
		end := 0
		for end < len(v) && v[end] != ',' {
			end++
		}
		tok := trimOWS(v[:end])
		if len(tok) == len(lowerTok) {
			match := true
			for i := 0; i < len(tok); i++ {
				if lower(tok[i]) != lowerTok[i] {
					match = false
					break
				}
			}
			if match {
				return true
			}
		}
		if end == len(v) {
			break
		}
		v = v[end+1:]
	}
	return false
}

func trimOWS[T string | []byte](v T) T {
	for len(v) > 0 && (v[0] == ' ' || v[0] == '\t') {
		v = v[1:]
	}
	for len(v) > 0 && (v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
		v = v[:len(v)-1]
	}
	return v
}
