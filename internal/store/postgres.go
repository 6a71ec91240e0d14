package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/barrage/barrage/migrations"
)

// postgresStore is the Store on Postgres. Its queries go through
// database/sql over the pgx pool (pgx's stdlib adapter); LISTEN/NOTIFY and
// the migration lock use pgx itself.
type postgresStore struct {
	sqlStore
	pool *pgxpool.Pool
}

var _ Store = (*postgresStore)(nil)

// migrationLockKey is the pg_advisory_lock key that serializes migrations
// of one database (advisory locks are scoped to the database).
const migrationLockKey int64 = 0x6261727261676521 // "barrage!"

const defaultMaxConns = 16 // unless the DSN sets pool_max_conns

func openPostgres(ctx context.Context, dsn string) (*postgresStore, error) {
	if _, err := migratePostgresDSN(ctx, dsn); err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres %s: %w", redactDSN(dsn), err)
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

// migratePostgresDSN migrates on a connection of its own: the advisory
// lock belongs to the session, and closing the session releases it even
// when unlocking fails.
func migratePostgresDSN(ctx context.Context, dsn string) ([]string, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("connect postgres %s: %w", redactDSN(dsn), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLockKey); err != nil {
		return nil, fmt.Errorf("lock migrations: %w", err)
	}
	applied, err := migratePostgres(ctx, conn)
	if _, uerr := conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLockKey); uerr != nil && err == nil {
		err = fmt.Errorf("unlock migrations: %w", uerr)
	}
	return applied, err
}

// migratePostgres applies pending migrations, each in its own transaction.
// The caller holds the advisory lock.
func migratePostgres(ctx context.Context, conn *pgx.Conn) ([]string, error) {
	ms, err := loadMigrations(migrations.Postgres())
	if err != nil {
		return nil, err
	}
	const create = `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER     PRIMARY KEY,
		name       TEXT        NOT NULL,
		applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`
	if _, err := conn.Exec(ctx, create); err != nil {
		return nil, fmt.Errorf("create schema_migrations: %w", err)
	}
	done := map[int]bool{}
	rows, _ := conn.Query(ctx, "SELECT version FROM schema_migrations")
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	for _, v := range versions {
		done[int(v)] = true
	}
	var applied []string
	for _, m := range ms {
		if done[m.version] {
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			// No arguments: pgx sends the file with the simple protocol,
			// which runs several statements.
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version, m.name)
			return err
		})
		if err != nil {
			return applied, fmt.Errorf("apply migration %s: %w", m.name, err)
		}
		applied = append(applied, m.name)
	}
	return applied, nil
}

func (p *postgresStore) Close() error {
	err := p.sqlStore.Close()
	p.pool.Close()
	return err
}
