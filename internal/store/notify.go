package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Notifier is implemented by stores that can tell the other processes using
// the same database that something changed, so that a server streaming a run
// learns at once of an interval folded by another server (Postgres
// LISTEN/NOTIFY). SQLite, one process's store, does not implement it.
type Notifier interface {
	// Notify sends payload to every listener of channel, on every server.
	Notify(ctx context.Context, channel, payload string) error
	// Listen calls fn with each payload sent to channel until ctx ends,
	// reconnecting after a lost connection.
	Listen(ctx context.Context, channel string, fn func(payload string)) error
}

var _ Notifier = (*postgresStore)(nil)

func (p *postgresStore) Notify(ctx context.Context, channel, payload string) error {
	if _, err := p.pool.Exec(ctx, "SELECT pg_notify($1, $2)", channel, payload); err != nil {
		return fmt.Errorf("notify %s: %w", channel, err)
	}
	return nil
}

func (p *postgresStore) Listen(ctx context.Context, channel string, fn func(payload string)) error {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := p.listenOnce(ctx, channel, fn)
		if ctx.Err() != nil {
			break
		}
		_ = err // a dropped connection: listen again after a pause
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
	return ctx.Err()
}

func (p *postgresStore) listenOnce(ctx context.Context, channel string, fn func(string)) error {
	pooled, err := p.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// The connection will hold LISTEN state: take it out of the pool for
	// good and close it when done.
	conn := pooled.Hijack()
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return err
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		fn(n.Payload)
	}
}
