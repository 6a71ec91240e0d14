package h1

import (
	"errors"
	"fmt"
)

var (
	// ErrProtocol is wrapped by every error caused by a malformed response.
	ErrProtocol = errors.New("h1: malformed response")

	// ErrHeaderTooLarge reports a response whose status line and headers (or
	// trailers) exceed the 64 KiB bound. It wraps ErrProtocol.
	ErrHeaderTooLarge = fmt.Errorf("%w: header section exceeds %d bytes", ErrProtocol, maxHeaderBytes)

	// ErrInvalidRequest reports a Request that cannot be written safely, such
	// as a target or header containing CR or LF.
	ErrInvalidRequest = errors.New("h1: invalid request")

	// ErrClosed is wrapped by the error of every Do that Close interrupted or
	// that was called after Close.
	ErrClosed = errors.New("h1: client closed")
)

// protoErr is built only on the error path, so fmt's allocations do not
// touch the steady state.
func protoErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrProtocol}, args...)...)
}
