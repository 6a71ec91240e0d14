package hist

import (
	"errors"
	"fmt"
)

// Errors returned by this package wrap exactly one of these, with a phrase
// saying what was wrong; test for them with errors.Is.
var (
	// ErrCorrupt: Decode's input is damaged or inconsistent.
	ErrCorrupt = errors.New("corrupt snapshot")
	// ErrTooLarge: an encoding, string or step count exceeds its limit
	// (MaxEncodedSize, MaxStringLen, MaxSteps).
	ErrTooLarge = errors.New("snapshot too large")
	// ErrVersion: Decode's input was written by a format version this build
	// does not know.
	ErrVersion = errors.New("unsupported snapshot version")
	// ErrInvalid: a snapshot in memory is inconsistent (Validate,
	// MarshalBinary, Fold).
	ErrInvalid = errors.New("invalid snapshot")
	// ErrMismatch: Fold was given snapshots that do not belong together.
	ErrMismatch = errors.New("snapshots do not match")
	// ErrOverflow: Fold's sums do not fit their counters.
	ErrOverflow = errors.New("snapshot counters overflow")
)

// badf wraps kind with a description; kind decides whether one rule reads as
// corruption (Decode) or as a caller's mistake (Validate).
func badf(kind error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", kind, fmt.Sprintf(format, args...))
}
