package hist

import "fmt"

// ErrorClass says why a request failed. ClassNone means it succeeded; every
// other class counts as an error.
type ErrorClass uint8

// The error classes. The numbering is part of the binary encoding: append new
// classes before NumClasses, never reorder.
const (
	ClassNone ErrorClass = iota
	ClassTimeout
	ClassRefused
	ClassReset
	ClassDNS
	ClassTLS
	ClassCheckFailed
	ClassHTTP4xx
	ClassHTTP5xx
	ClassOther
	// ClassBlocked: the target's address is outside the allowed targets;
	// the connection was refused before it was made.
	ClassBlocked
)

// NumClasses is the number of defined classes, ClassNone included.
const NumClasses = int(ClassBlocked) + 1

var classNames = [NumClasses]string{
	ClassNone:        "",
	ClassTimeout:     "timeout",
	ClassRefused:     "refused",
	ClassReset:       "reset",
	ClassDNS:         "dns",
	ClassTLS:         "tls",
	ClassCheckFailed: "check_failed",
	ClassHTTP4xx:     "http_4xx",
	ClassHTTP5xx:     "http_5xx",
	ClassOther:       "other",
	ClassBlocked:     "blocked",
}

// String returns the class's name as used in reports and the API; "" for
// ClassNone.
func (c ErrorClass) String() string {
	if int(c) < NumClasses {
		return classNames[c]
	}
	return fmt.Sprintf("ErrorClass(%d)", uint8(c))
}

// Valid reports whether c is one of the defined classes.
func (c ErrorClass) Valid() bool { return int(c) < NumClasses }

// ParseErrorClass is the inverse of String: "" parses as ClassNone.
func ParseErrorClass(s string) (ErrorClass, error) {
	for i, name := range classNames {
		if name == s {
			return ErrorClass(i), nil
		}
	}
	return 0, fmt.Errorf("unknown error class %q", s)
}

// MarshalText makes classes read as names in JSON, including as map keys.
func (c ErrorClass) MarshalText() ([]byte, error) {
	if !c.Valid() {
		return nil, fmt.Errorf("marshal error class %d: out of range", uint8(c))
	}
	return []byte(c.String()), nil
}

// UnmarshalText parses a name written by MarshalText.
func (c *ErrorClass) UnmarshalText(b []byte) error {
	v, err := ParseErrorClass(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}
