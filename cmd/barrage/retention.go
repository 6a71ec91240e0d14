package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// defaultRetention keeps raw snapshots a week after their run ends.
const defaultRetention = 7 * 24 * time.Hour

// retention is a --retain-snapshots value: a Go duration ("36h") or whole
// days ("30d"); 0 keeps raw snapshots forever.
type retention time.Duration

func (r *retention) String() string {
	d := time.Duration(*r)
	if d > 0 && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

func (r *retention) Type() string { return "duration" }

func (r *retention) Set(s string) error {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 100*365 {
			return fmt.Errorf("%q is not a number of days", s)
		}
		*r = retention(time.Duration(n) * 24 * time.Hour)
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return fmt.Errorf("%q is not a duration such as 36h or 30d", s)
	}
	*r = retention(d)
	return nil
}
