package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/barrage/barrage/migrations"
)

// postgresStore is the Store on Postgres, through a pgx pool.
type postgresStore struct {
	pool *pgxpool.Pool
}

var _ Store = (*postgresStore)(nil)

// migrationLockKey is the pg_advisory_lock key that serializes migrations
// of one database (advisory locks are scoped to the database).
const migrationLockKey int64 = 0x6261727261676521 // "barrage!"

// Postgres error codes the store maps to its own errors.
const (
	defaultMaxConns       = 16 // unless the DSN sets pool_max_conns
	pgUniqueViolation     = "23505"
	pgForeignKeyViolation = "23503"
)

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
	return &postgresStore{pool: pool}, nil
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

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// pgTime is a time argument: NULL for the zero time.
func pgTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return dbTime(t)
}

// fromPG reads a nullable timestamptz back in UTC.
func fromPG(t pgtype.Timestamptz) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}

func (p *postgresStore) Ping(ctx context.Context) error {
	if err := p.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping postgres: %w", err)
	}
	return nil
}

func (p *postgresStore) Close() error {
	p.pool.Close()
	return nil
}

func (p *postgresStore) CreateScenario(ctx context.Context, s *Scenario) error {
	if s.ID == "" {
		return fmt.Errorf("create scenario: empty id")
	}
	created := orNow(s.CreatedAt)
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO scenarios (id, latest_version, created_at) VALUES ($1, 1, $2)",
			s.ID, created); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO scenario_versions (scenario_id, version, name, document, created_at)
			VALUES ($1, 1, $2, $3, $4)`, s.ID, s.Name, blob(s.Document), created)
		return err
	})
	if pgCode(err) == pgUniqueViolation {
		return fmt.Errorf("create scenario %s: id already used: %w", s.ID, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create scenario %s: %w", s.ID, err)
	}
	s.Version, s.CreatedAt = 1, created
	return nil
}

func (p *postgresStore) UpdateScenario(ctx context.Context, id, name string, document []byte) (*Scenario, error) {
	s := &Scenario{ID: id, Name: name, Document: readBlob(document), CreatedAt: orNow(time.Time{})}
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		// The row lock taken here makes concurrent updates queue, so each
		// gets its own version.
		err := tx.QueryRow(ctx, "UPDATE scenarios SET latest_version = latest_version + 1 WHERE id = $1 RETURNING latest_version",
			id).Scan(&s.Version)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO scenario_versions (scenario_id, version, name, document, created_at)
			VALUES ($1, $2, $3, $4, $5)`, id, s.Version, name, blob(document), s.CreatedAt)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("update scenario %s: %w", id, err)
	}
	return s, nil
}

const pgScenarioCols = "v.scenario_id, v.version, v.name, v.document, v.created_at"

func (p *postgresStore) GetScenario(ctx context.Context, id string, version int) (*Scenario, error) {
	q := "SELECT " + pgScenarioCols + " FROM scenario_versions v WHERE v.scenario_id = $1 AND v.version = $2"
	args := []any{id, version}
	if version == 0 {
		q = "SELECT " + pgScenarioCols + ` FROM scenarios s
			JOIN scenario_versions v ON v.scenario_id = s.id AND v.version = s.latest_version WHERE s.id = $1`
		args = args[:1]
	}
	rows, _ := p.pool.Query(ctx, q, args...)
	s, err := pgx.CollectExactlyOneRow(rows, scanPGScenario)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("get scenario %s version %d: %w", id, version, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get scenario %s version %d: %w", id, version, err)
	}
	return &s, nil
}

func (p *postgresStore) ListScenarios(ctx context.Context, limit, offset int) ([]Scenario, error) {
	rows, _ := p.pool.Query(ctx, "SELECT "+pgScenarioCols+` FROM scenarios s
		JOIN scenario_versions v ON v.scenario_id = s.id AND v.version = s.latest_version
		ORDER BY v.created_at DESC, v.scenario_id DESC LIMIT $1 OFFSET $2`, clampLimit(limit), max(offset, 0))
	ss, err := pgx.CollectRows(rows, scanPGScenario)
	if err != nil {
		return nil, fmt.Errorf("list scenarios: %w", err)
	}
	return ss, nil
}

func scanPGScenario(row pgx.CollectableRow) (Scenario, error) {
	var s Scenario
	err := row.Scan(&s.ID, &s.Version, &s.Name, &s.Document, &s.CreatedAt)
	s.Document, s.CreatedAt = readBlob(s.Document), s.CreatedAt.UTC()
	return s, err
}

func (p *postgresStore) DeleteScenario(ctx context.Context, id string) error {
	tag, err := p.pool.Exec(ctx, "DELETE FROM scenarios WHERE id = $1", id)
	if pgCode(err) == pgForeignKeyViolation {
		return fmt.Errorf("delete scenario %s: runs use it: %w", id, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("delete scenario %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("delete scenario %s: %w", id, ErrNotFound)
	}
	return nil
}
