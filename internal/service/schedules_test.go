package service

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseWhen(t *testing.T) {
	for _, tc := range []struct {
		cron, every string
		want        time.Duration
		field       string // "" when accepted
	}{
		{cron: "0 3 * * *"},
		{cron: "*/15 9-17 * * 1-5"},
		{cron: "@daily"},
		{cron: "CRON_TZ=Europe/Paris 0 3 * * *"},
		{every: "24h", want: 24 * time.Hour},
		{every: "1s", want: time.Second},
		{field: "cron"},
		{cron: "@daily", every: "1h", field: "every"},
		{cron: "0 25 * * *", field: "cron"},
		{cron: "0 3 * *", field: "cron"},
		{cron: "@every 1h", field: "cron"},
		{cron: "CRON_TZ=Mars/Olympus 0 3 * * *", field: "cron"},
		{every: "999ms", field: "every"},
		{every: "-1h", field: "every"},
		{every: "daily", field: "every"},
	} {
		got, err := parseWhen(tc.cron, tc.every)
		var se *Error
		switch {
		case tc.field == "" && (err != nil || got != tc.want):
			t.Errorf("cron %q every %q: %v, %v; want %v", tc.cron, tc.every, got, err, tc.want)
		case tc.field != "" && (!errors.As(err, &se) || se.Kind != BadRequest || se.Field != tc.field || !strings.Contains(se.Message, tc.field)):
			t.Errorf("cron %q every %q: %v, want a 400 on %s naming it", tc.cron, tc.every, err, tc.field)
		}
	}
}

func TestFiringRunID(t *testing.T) {
	at := time.Date(2026, 12, 4, 3, 0, 0, 0, time.FixedZone("CET", 3600))
	a := FiringRunID("sch_1", "f1", at)
	if a != FiringRunID("sch_1", "f1", at) || a == FiringRunID("sch_1", "f2", at) || a == FiringRunID("sch_2", "f1", at) {
		t.Fatal("a firing's run ID is not a function of the schedule and the firing alone")
	}
	if !ValidID(a) || !strings.HasPrefix(a, "run_20261204T020000_") || len(a) != len(NewID("run_")) {
		t.Fatalf("run ID %q does not have NewID's shape in UTC", a)
	}
}
