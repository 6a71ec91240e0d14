// Package benchdb gives benchmarks a database of their own on a Postgres
// server (BARRAGE_TEST_PG), dropped when they are done.
package benchdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Fresh creates an empty database named prefix_<random> on the Postgres
// server of base (a database URL) and returns its URL and a function that
// drops it (reporting a failure to warn).
func Fresh(ctx context.Context, base, prefix string, warn func(format string, args ...any)) (string, func(), error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", nil, fmt.Errorf("BARRAGE_TEST_PG: %w", err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := prefix + "_" + hex.EncodeToString(b[:])
	if err := admin(ctx, base, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := admin(ctx, base, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			warn("drop database %s: %v", name, err)
		}
	}
	u.Path = "/" + name
	return u.String(), drop, nil
}

func admin(ctx context.Context, dsn, sql string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer c.Close(context.WithoutCancel(ctx))
	_, err = c.Exec(ctx, sql)
	return err
}

// Counts are a Postgres database's cumulative activity.
type Counts struct {
	Commits, Inserted int64
}

// Activity reads the activity counters of the database dsn names; it fails
// for anything but a postgres:// DSN. Postgres publishes them with a delay
// of up to a second.
func Activity(ctx context.Context, dsn string) (Counts, error) {
	var c Counts
	if !strings.HasPrefix(dsn, "postgres") {
		return c, fmt.Errorf("not a Postgres database")
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return c, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	err = conn.QueryRow(ctx, "SELECT xact_commit, tup_inserted FROM pg_stat_database WHERE datname = current_database()").Scan(&c.Commits, &c.Inserted)
	return c, err
}
