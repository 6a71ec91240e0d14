package service

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"time"
)

// Kind says what went wrong with a request, so that each front end (the
// HTTP API today) can answer in its own terms.
type Kind int

// Kinds of Error.
const (
	BadRequest  Kind = iota + 1 // the request is malformed (HTTP 400)
	NotFound                    // something it names does not exist (404)
	Conflict                    // the run's state forbids it (409)
	Invalid                     // well-formed but not acceptable (422)
	Unavailable                 // the orchestrator cannot be reached (503)
)

// Error is a request the service refused: Code is the API's error code,
// Field the request field at fault ("" for none).
type Error struct {
	Kind    Kind
	Code    string
	Field   string
	Message string
}

func (e *Error) Error() string { return e.Message }

func refuse(kind Kind, code, field, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

var validID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidID reports whether s can be an ID (of a run, a scenario, ...).
func ValidID(s string) bool { return validID.MatchString(s) }

// NewID returns a new ID: prefix, the UTC time and 40 random bits, so that
// IDs sort by creation.
func NewID(prefix string) string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return prefix + time.Now().UTC().Format("20060102T150405") + "_" + hex.EncodeToString(b[:])
}

func newToken() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
