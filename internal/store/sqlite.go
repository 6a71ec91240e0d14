package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/barrage/barrage/migrations"
)

// sqliteStore is the Store on an SQLite file (or memory), in pure Go.
//
// Writes go through a pool of one connection: SQLite admits one writer at a
// time anyway, and queueing in database/sql is cheaper and fairer than
// connections spinning on SQLITE_BUSY. Reads use their own pool, which WAL
// lets run alongside the writer.
type sqliteStore struct {
	w *sql.DB
	r *sql.DB // the same as w for :memory:
}

var _ Store = (*sqliteStore)(nil)

const sqliteMemory = ":memory:"

// sqliteDSN is the modernc DSN for a path. busy_timeout makes a connection
// wait for another process's write lock instead of failing; _txlock=immediate
// takes the write lock at BEGIN, so a transaction never fails half way when
// it upgrades from reading to writing. synchronous=NORMAL is safe in WAL
// mode against a crash of the process (only an OS crash or power loss can
// drop the last commits) and saves an fsync per snapshot.
func sqliteDSN(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(NORMAL)")
		q.Set("_txlock", "immediate")
	}
	return path + "?" + q.Encode()
}

// openSQLiteDB opens one pool; a connection is made (and its pragmas
// applied) before it returns, so a bad path fails here.
func openSQLiteDB(ctx context.Context, path string, readOnly bool, conns int) (*sql.DB, error) {
	db, err := sql.Open("sqlite", sqliteDSN(path, readOnly))
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	// A :memory: database lives as long as its connection: never recycle it.
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	// Connections opening a new file together race to switch it to WAL,
	// which needs the file to themselves; the loser gets SQLITE_BUSY at
	// once (no busy handler applies), so it tries again.
	for attempt := 0; attempt < 50; attempt++ {
		if err = db.PingContext(ctx); sqliteCode(err) != sqlite3.SQLITE_BUSY {
			break
		}
		time.Sleep(time.Duration(attempt+1) * 10 * time.Millisecond)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return db, nil
}

func openSQLite(ctx context.Context, path string) (*sqliteStore, error) {
	w, err := openSQLiteDB(ctx, path, false, 1)
	if err != nil {
		return nil, err
	}
	if _, err := migrateSQLite(ctx, w); err != nil {
		w.Close()
		return nil, err
	}
	if path == sqliteMemory {
		return &sqliteStore{w: w, r: w}, nil
	}
	r, err := openSQLiteDB(ctx, path, true, max(4, runtime.GOMAXPROCS(0)))
	if err != nil {
		w.Close()
		return nil, err
	}
	return &sqliteStore{w: w, r: r}, nil
}

func migrateSQLiteDSN(ctx context.Context, path string) ([]string, error) {
	w, err := openSQLiteDB(ctx, path, false, 1)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	return migrateSQLite(ctx, w)
}

// migrateSQLite applies pending migrations, all of them in one BEGIN
// IMMEDIATE transaction that first checks which ones another process
// applied while this one waited for the write lock — what pg_advisory_lock
// gives the Postgres store. A failing migration leaves nothing applied.
func migrateSQLite(ctx context.Context, db *sql.DB) ([]string, error) {
	ms, err := loadMigrations(migrations.SQLite())
	if err != nil {
		return nil, err
	}
	const create = `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL) STRICT`
	if _, err := db.ExecContext(ctx, create); err != nil {
		return nil, fmt.Errorf("create schema_migrations: %w", err)
	}
	var applied []string
	err = sqliteTx(ctx, db, func(tx *sql.Tx) error {
		applied = nil // a retried transaction starts over
		for _, m := range ms {
			did, err := applySQLiteMigration(ctx, tx, m)
			if err != nil {
				return fmt.Errorf("apply migration %s: %w", m.name, err)
			}
			if did {
				applied = append(applied, m.name)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return applied, nil
}

func applySQLiteMigration(ctx context.Context, tx *sql.Tx, m migration) (bool, error) {
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations WHERE version = ?", m.version).Scan(&n); err != nil {
		return false, err
	}
	if n > 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, err
	}
	_, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
		m.version, m.name, time.Now().UnixMicro())
	return err == nil, err
}

// sqliteTx runs fn in a transaction (BEGIN IMMEDIATE on the writer pool),
// committing when fn returns nil.
func sqliteTx(ctx context.Context, db *sql.DB, fn func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()
	}
	return 0
}

func isSQLiteUnique(err error) bool {
	c := sqliteCode(err)
	return c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY || c == sqlite3.SQLITE_CONSTRAINT_UNIQUE
}

func isSQLiteForeignKey(err error) bool {
	return sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// toMicros is a time argument: microseconds since the epoch, NULL for zero.
func toMicros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return dbTime(t).UnixMicro()
}

func fromMicros(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.UnixMicro(n.Int64).UTC()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// scanner is what *sql.Row and *sql.Rows have in common.
type scanner interface {
	Scan(dest ...any) error
}

// collect reads every row and closes rows before it returns, which matters
// on :memory:, where a second query would wait for the one connection.
func collect[T any](rows *sql.Rows, err error, scan func(scanner) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func (s *sqliteStore) Ping(ctx context.Context) error {
	// The read pool: a long write holding the one writer connection does
	// not make the database look down.
	if err := s.r.PingContext(ctx); err != nil {
		return fmt.Errorf("ping sqlite: %w", err)
	}
	return nil
}

func (s *sqliteStore) Close() error {
	var rerr error
	if s.r != s.w {
		rerr = s.r.Close()
	}
	if err := errors.Join(rerr, s.w.Close()); err != nil {
		return fmt.Errorf("close sqlite: %w", err)
	}
	return nil
}
