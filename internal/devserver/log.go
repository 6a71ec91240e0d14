package devserver

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// temporalLogger adapts an slog.Logger to Temporal's log.Logger. Temporal
// logs a great deal at Info (every shard and queue start); only Warn and
// above reach the caller's handler, and nothing once stopping begins.
type temporalLogger struct {
	l     *slog.Logger
	floor *slog.LevelVar // shared by every logger derived With tags
}

var (
	_ log.Logger      = (*temporalLogger)(nil)
	_ log.WithLogger  = (*temporalLogger)(nil)
	_ log.SLogWrapper = (*temporalLogger)(nil)
)

func newTemporalLogger(base *slog.Logger) *temporalLogger {
	floor := new(slog.LevelVar)
	floor.Set(slog.LevelWarn)
	h := levelFloor{inner: base.Handler(), min: floor}
	return &temporalLogger{l: slog.New(h).With(slog.String("component", "temporal")), floor: floor}
}

// silenced is above every level Temporal logs at.
const silenced = slog.LevelError + 1

// stopping silences Temporal: while stopping it warns, and even logs errors
// ("context canceled", "SendHeader called multiple times"), about every poll
// and call that the stop itself interrupts. Stop's result says what matters.
func (t *temporalLogger) stopping() { t.floor.Set(silenced) }

func (t *temporalLogger) Debug(msg string, tags ...tag.Tag) { t.log(slog.LevelDebug, msg, tags) }
func (t *temporalLogger) Info(msg string, tags ...tag.Tag)  { t.log(slog.LevelInfo, msg, tags) }
func (t *temporalLogger) Warn(msg string, tags ...tag.Tag)  { t.log(slog.LevelWarn, msg, tags) }
func (t *temporalLogger) Error(msg string, tags ...tag.Tag) { t.log(slog.LevelError, msg, tags) }

// DPanic panics only in Temporal's development mode; a dev server is not that.
func (t *temporalLogger) DPanic(msg string, tags ...tag.Tag) { t.log(slog.LevelError, msg, tags) }

func (t *temporalLogger) Panic(msg string, tags ...tag.Tag) {
	t.log(slog.LevelError, msg, tags)
	panic(describe(msg, tags))
}

// Fatal would exit the process in a standalone server. Panicking instead lets
// Start turn a fatal error during startup (a port taken, say) into an error.
func (t *temporalLogger) Fatal(msg string, tags ...tag.Tag) {
	t.log(slog.LevelError, msg, tags)
	panic(fatalPanic{msg: describe(msg, tags)})
}

func (t *temporalLogger) With(tags ...tag.Tag) log.Logger {
	return &temporalLogger{l: t.l.With(attrArgs(tags)...), floor: t.floor}
}

// SLog lets Temporal components that want an slog.Logger use ours directly
// (log.SLogWrapper), keeping the Warn floor.
func (t *temporalLogger) SLog() *slog.Logger { return t.l }

func (t *temporalLogger) log(level slog.Level, msg string, tags []tag.Tag) {
	ctx := context.Background()
	if !t.l.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, len(tags))
	for _, tg := range tags {
		attrs = append(attrs, slog.Any(tg.Key(), tg.Value()))
	}
	t.l.LogAttrs(ctx, level, msg, attrs...)
}

func attrArgs(tags []tag.Tag) []any {
	args := make([]any, 0, len(tags))
	for _, tg := range tags {
		args = append(args, slog.Any(tg.Key(), tg.Value()))
	}
	return args
}

func describe(msg string, tags []tag.Tag) string {
	if len(tags) == 0 {
		return msg
	}
	var b strings.Builder
	b.WriteString(msg)
	for i, tg := range tags {
		sep := ", "
		if i == 0 {
			sep = " ("
		}
		fmt.Fprintf(&b, "%s%s=%v", sep, tg.Key(), tg.Value())
	}
	b.WriteString(")")
	return b.String()
}

// fatalPanic marks a panic raised by Fatal, so that Start can recover it.
type fatalPanic struct{ msg string }

// levelFloor drops records below min before they reach the inner handler.
type levelFloor struct {
	inner slog.Handler
	min   slog.Leveler
}

func (h levelFloor) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= h.min.Level() && h.inner.Enabled(ctx, level)
}

func (h levelFloor) Handle(ctx context.Context, r slog.Record) error {
	return h.inner.Handle(ctx, r)
}

func (h levelFloor) WithAttrs(attrs []slog.Attr) slog.Handler {
	return levelFloor{inner: h.inner.WithAttrs(attrs), min: h.min}
}

func (h levelFloor) WithGroup(name string) slog.Handler {
	return levelFloor{inner: h.inner.WithGroup(name), min: h.min}
}
