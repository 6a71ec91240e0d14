package store

import (
	"context"
	"fmt"
	"strings"
)

// dsnHelp names the DSN forms Open and Migrate accept.
const dsnHelp = `want "postgres://…", "postgresql://…" or "sqlite:PATH" (PATH may be ":memory:")`

// Open connects to the database a DSN names, applies pending migrations and
// returns the store:
//
//   - postgres://user@host:5432/db?sslmode=disable (or postgresql://…): Postgres
//     through a pgx pool. Migrations run under pg_advisory_lock, so servers
//     that open one database at the same moment apply each migration once.
//   - sqlite:PATH: an SQLite file, created if missing, in WAL mode with a busy
//     timeout and foreign keys on. PATH takes no query parameters.
//   - sqlite::memory:: a private in-memory SQLite database, gone at Close. It
//     lives on one connection (every connection to ":memory:" would get its
//     own empty database), so calls on it are serialized.
func Open(ctx context.Context, dsn string) (Store, error) {
	kind, target, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	if kind == dialectPostgres {
		return openPostgres(ctx, target)
	}
	return openSQLite(ctx, target)
}

// Migrate applies the migrations a database lacks and returns the names of
// those it applied (e.g. "0001_init"), oldest first; none when the schema is
// current. Open does the same; Migrate is for `barrage migrate`.
func Migrate(ctx context.Context, dsn string) (applied []string, err error) {
	kind, target, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	if kind == dialectPostgres {
		return migratePostgresDSN(ctx, target)
	}
	return migrateSQLiteDSN(ctx, target)
}

// parseDSN tells the dialect and returns what its driver is given: the whole
// URL for Postgres, the path for SQLite.
func parseDSN(dsn string) (dialect, string, error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return dialectPostgres, dsn, nil
	case strings.HasPrefix(dsn, "sqlite:"):
		p := strings.TrimPrefix(dsn, "sqlite:")
		if p == "" {
			return dialect{}, "", fmt.Errorf("database %q: empty SQLite path: %s", dsn, dsnHelp)
		}
		// The driver reads anything after '?' as its own options; ours are
		// fixed (see sqliteDSN), so a '?' could only be a mistake.
		if strings.Contains(p, "?") {
			return dialect{}, "", fmt.Errorf("database %q: SQLite path takes no query parameters: %s", dsn, dsnHelp)
		}
		return dialectSQLite, p, nil
	default:
		return dialect{}, "", fmt.Errorf("database %q: unknown form: %s", redactDSN(dsn), dsnHelp)
	}
}

// redactDSN keeps a password out of error messages.
func redactDSN(dsn string) string {
	at := strings.LastIndex(dsn, "@")
	scheme := strings.Index(dsn, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return dsn
	}
	userinfo := dsn[scheme+3 : at]
	if user, _, ok := strings.Cut(userinfo, ":"); ok {
		return dsn[:scheme+3] + user + ":xxxxx" + dsn[at:]
	}
	return dsn
}
