package store

import (
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/barrage/barrage/migrations"
)

// dialect is what differs between the databases the store runs on. The rest
// — queries, transactions, scans — is one implementation over database/sql
// (sqlStore), which relies on two things both drivers do alike:
//
//   - Placeholders are $1, $2, …: modernc binds $N to the Nth argument.
//   - Times go in as time.Time and come out through timeCol: modernc keeps
//     them as microseconds since the epoch (see sqliteDSN), Postgres as
//     timestamptz.
type dialect struct {
	name string
	// tagsObject aggregates the tags of a run (run_tags t) into one JSON
	// object; NULL on Postgres when the run has none, {} on SQLite.
	tagsObject string
	// arrays: the driver binds Go slices as SQL arrays, so that a batch of
	// rows goes in with one statement over unnest (one parse, one plan, one
	// round trip). Otherwise a batch runs one prepared statement per row,
	// which costs little in-process.
	arrays bool
	// forUpdate ends a SELECT of rows the transaction then changes. SQLite
	// has no row locks: its BEGIN IMMEDIATE took the write lock already.
	forUpdate string
	// lockFeeder ($1 run, $2 feeder) serializes the transactions that
	// change several rows of one feeder, whose first rows do not exist yet
	// to be locked; none on SQLite, for the same reason.
	lockFeeder string
	// deleteChunk bounds the snapshots one DELETE removes (0: no bound).
	// SQLite has one writer, and a run's millions of snapshots in one
	// statement would hold up every live run's ingest meanwhile.
	deleteChunk int
	// migrationsTable creates the table of applied migrations.
	migrationsTable string
	// lockMigrations and unlockMigrations take and release a lock of the
	// session over migrating; none on SQLite, whose BEGIN IMMEDIATE does.
	lockMigrations, unlockMigrations string
}

var (
	dialectPostgres = dialect{
		name:       "postgres",
		tagsObject: "jsonb_object_agg(t.key, t.value)",
		arrays:     true,
		forUpdate:  " FOR UPDATE",
		lockFeeder: "SELECT pg_advisory_xact_lock(hashtextextended($1 || '/' || $2, 7))",
		migrationsTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER     PRIMARY KEY,
			name       TEXT        NOT NULL,
			applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
		// The key is 0x6261727261676521, "barrage!". Advisory locks are
		// per database: servers of other databases do not wait.
		lockMigrations:   "SELECT pg_advisory_lock(7089073124043875617)",
		unlockMigrations: "SELECT pg_advisory_unlock(7089073124043875617)",
	}
	dialectSQLite = dialect{
		name:        "sqlite",
		tagsObject:  "json_group_object(t.key, t.value)",
		deleteChunk: 5000,
		migrationsTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT    NOT NULL,
			applied_at INTEGER NOT NULL) STRICT`,
	}
)

func (d dialect) String() string { return d.name }

func (d dialect) migrations() fs.FS {
	if d == dialectPostgres {
		return migrations.Postgres()
	}
	return migrations.SQLite()
}

// violation is a constraint a write broke, as far as the store maps it.
type violation int

const (
	noViolation violation = iota
	uniqueViolation
	foreignKeyViolation
)

// violated tells which constraint a driver's error reports, for either
// driver: their error types tell them apart.
func violated(err error) violation {
	if err == nil {
		return noViolation
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505":
			return uniqueViolation
		case "23503":
			return foreignKeyViolation
		}
		return noViolation
	}
	switch sqliteCode(err) {
	case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		return uniqueViolation
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return foreignKeyViolation
	}
	return noViolation
}

func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()
	}
	return 0
}

// timeCol scans a time column into t, in UTC: microseconds since the epoch
// (SQLite), a timestamptz (Postgres), or NULL, read as the zero time.
type timeCol struct{ t *time.Time }

func (c timeCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.t = time.Time{}
	case int64:
		*c.t = time.UnixMicro(v).UTC()
	case time.Time:
		*c.t = v.UTC()
	default:
		return fmt.Errorf("scan time: unexpected %T", src)
	}
	return nil
}
