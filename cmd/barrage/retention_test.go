package main

import (
	"testing"
	"time"
)

func TestRetentionFlag(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"30d", 30 * 24 * time.Hour, true},
		{"7d", 7 * 24 * time.Hour, true},
		{"36h", 36 * time.Hour, true},
		{"0", 0, true},
		{"0d", 0, true},
		{"-1h", 0, false},
		{"d", 0, false},
		{"1.5d", 0, false},
		{"week", 0, false},
	} {
		var r retention
		err := r.Set(tc.in)
		if (err == nil) != tc.ok || tc.ok && time.Duration(r) != tc.want {
			t.Errorf("Set(%q) = %v, %v; want %v, ok %v", tc.in, time.Duration(r), err, tc.want, tc.ok)
		}
	}
	r := retention(defaultRetention)
	if r.String() != "7d" {
		t.Errorf("default prints as %q", r.String())
	}
}
