package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"runtime"
	"time"

	sqlite3 "modernc.org/sqlite/lib"
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
		_ = db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return db, nil
}

func openSQLite(ctx context.Context, path string) (*sqliteStore, error) {
	w, err := openSQLiteDB(ctx, path, false, 1)
	if err != nil {
		return nil, err
	}
	if _, err := migrate(ctx, w, dialectSQLite); err != nil {
		_ = w.Close()
		return nil, err
	}
	if path == sqliteMemory {
		return &sqliteStore{newSQLStore(dialectSQLite, w, w)}, nil
	}
	r, err := openSQLiteDB(ctx, path, true, max(4, runtime.GOMAXPROCS(0)))
	if err != nil {
		_ = w.Close()
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
	return migrate(ctx, w, dialectSQLite)
}
