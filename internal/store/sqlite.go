package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"runtime"
	"time"

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
	sqlStore
}

var _ Store = (*sqliteStore)(nil)

const sqliteMemory = ":memory:"

// sqliteDSN is the modernc DSN for a path. busy_timeout makes a connection
// wait for another process's write lock instead of failing; _txlock=immediate
// takes the write lock at BEGIN, so a transaction never fails half way when
// it upgrades from reading to writing. synchronous=NORMAL is safe in WAL
// mode against a crash of the process (only an OS crash or power loss can
// drop the last commits) and saves an fsync per snapshot. Times are bound
// as microseconds since the epoch, what the columns hold.
func sqliteDSN(path string, readOnly bool) string {
	q := url.Values{}
	q.Set("_time_integer_format", "unix_micro")
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
		return &sqliteStore{newSQLStore(dialectSQLite, w, w)}, nil
	}
	r, err := openSQLiteDB(ctx, path, true, max(4, runtime.GOMAXPROCS(0)))
	if err != nil {
		w.Close()
		return nil, err
	}
	return &sqliteStore{newSQLStore(dialectSQLite, w, r)}, nil
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
	err = inTx(ctx, db, func(tx *sql.Tx) error {
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
		m.version, m.name, time.Now())
	return err == nil, err
}
