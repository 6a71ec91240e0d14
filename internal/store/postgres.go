package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
)

// postgresStore is the Store on Postgres. Its queries go through
// database/sql over the pgx pool (pgx's stdlib adapter); LISTEN/NOTIFY use
// the pool itself (see notify.go).
type postgresStore struct {
	sqlStore
	pool *pgxpool.Pool
}

var _ Store = (*postgresStore)(nil)

const defaultMaxConns = 16 // unless the DSN sets pool_max_conns

func openPostgres(ctx context.Context, dsn string) (*postgresStore, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres %s: %w", redactDSN(dsn), err)
	}
	if _, err := migratePostgres(ctx, cfg.ConnConfig); err != nil {
		return nil, err
	}
	if !strings.Contains(dsn, "pool_max_conns") {
		// pgx's default (the number of CPUs, at least 4) lets a few slow
		// commits hold up every stream, fold and ingest of the server.
		cfg.MaxConns = defaultMaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres %s: %w", redactDSN(dsn), err)
	}
	db := stdlib.OpenDBFromPool(pool)
	return &postgresStore{sqlStore: newSQLStore(dialectPostgres, db, db), pool: pool}, nil
}

func migratePostgresDSN(ctx context.Context, dsn string) ([]string, error) {
	// The pool's parser: it takes (and drops) the pool_* options a
	// server's DSN may carry.
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("migrate postgres %s: %w", redactDSN(dsn), err)
	}
	return migratePostgres(ctx, cfg.ConnConfig)
}

// migratePostgres migrates on a connection of its own, not the pool's: the
// advisory lock belongs to the session, and closing the session releases it
// even when unlocking fails.
func migratePostgres(ctx context.Context, cfg *pgx.ConnConfig) ([]string, error) {
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	return migrate(ctx, db, dialectPostgres)
}

func (p *postgresStore) Close() error {
	err := p.sqlStore.Close()
	p.pool.Close()
	return err
}
