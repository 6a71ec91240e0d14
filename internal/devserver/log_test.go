package devserver

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"go.temporal.io/server/common/log/tag"
)

func TestTemporalLoggerKeepsWarnAndAbove(t *testing.T) {
	var buf bytes.Buffer
	l := newTemporalLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	l.Debug("debug line")
	l.Info("info line", tag.NewStringTag("k", "v"))
	l.With(tag.NewStringTag("shard", "1")).Warn("warn line", tag.Error(errors.New("boom")))
	l.Error("error line")
	out := buf.String()
	for _, unwanted := range []string{"debug line", "info line"} {
		if strings.Contains(out, unwanted) {
			t.Errorf("log has %q:\n%s", unwanted, out)
		}
	}
	for _, wanted := range []string{"warn line", "shard=1", "error=boom", "component=temporal", "error line"} {
		if !strings.Contains(out, wanted) {
			t.Errorf("log lacks %q:\n%s", wanted, out)
		}
	}
}

func TestTemporalLoggerSilentWhileStopping(t *testing.T) {
	var buf bytes.Buffer
	l := newTemporalLogger(slog.New(slog.NewTextHandler(&buf, nil)))
	derived := l.With(tag.NewStringTag("service", "frontend"))
	l.stopping()
	derived.Error("Unable to call matching.PollWorkflowTaskQueue.", tag.Error(errors.New("context canceled")))
	l.Warn("Failed to poll for task.")
	if buf.Len() != 0 {
		t.Errorf("logged while stopping:\n%s", buf.String())
	}
}

func TestFatalBecomesError(t *testing.T) {
	l := newTemporalLogger(slog.New(slog.DiscardHandler))
	err := recoverFatal(func() error {
		l.Fatal("Failed to start gRPC listener", tag.NewStringTag("address", "127.0.0.1:1"))
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "Failed to start gRPC listener (address=127.0.0.1:1)") {
		t.Fatalf("err = %v", err)
	}
}
