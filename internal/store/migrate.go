package store

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// migration is one numbered SQL file of a dialect.
type migration struct {
	version int
	name    string // file name without .sql, e.g. 0001_init
	sql     string
}

// loadMigrations reads NNNN_name.sql files, ordered by version.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var ms []migration
	seen := map[int]string{}
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".sql" {
			continue
		}
		name := strings.TrimSuffix(e.Name(), ".sql")
		num, _, _ := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name does not start with a positive number", e.Name())
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migration %s: version %d already used by %s", e.Name(), v, prev)
		}
		seen[v] = name
		body, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		ms = append(ms, migration{version: v, name: name, sql: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// migrate applies the migrations a database lacks, all in one transaction
// (a failing one leaves nothing applied), and returns their names. It reads
// what is applied only once it holds the lock that keeps other migrators
// out — on Postgres an advisory lock of the session, on SQLite the write
// lock its BEGIN IMMEDIATE takes — so one that waited finds nothing to do.
func migrate(ctx context.Context, db *sql.DB, d dialect) (applied []string, err error) {
	ms, err := loadMigrations(d.migrations())
	if err != nil {
		return nil, err
	}
	conn, err := db.Conn(ctx) // one session, which the advisory lock belongs to
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", d, err)
	}
	defer conn.Close()
	if d.lockMigrations != "" {
		if _, err := conn.ExecContext(ctx, d.lockMigrations); err != nil {
			return nil, fmt.Errorf("lock migrations: %w", err)
		}
		defer func() {
			if _, uerr := conn.ExecContext(context.WithoutCancel(ctx), d.unlockMigrations); uerr != nil && err == nil {
				err = fmt.Errorf("unlock migrations: %w", uerr)
			}
		}()
	}
	if _, err := conn.ExecContext(ctx, d.migrationsTable); err != nil {
		return nil, fmt.Errorf("create schema_migrations: %w", err)
	}
	err = inTx(ctx, conn, func(tx *sql.Tx) error {
		for _, m := range ms {
			did, err := applyMigration(ctx, tx, m)
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

func applyMigration(ctx context.Context, tx *sql.Tx, m migration) (bool, error) {
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations WHERE version = $1", m.version).Scan(&n); err != nil {
		return false, err
	}
	if n > 0 {
		return false, nil
	}
	// No arguments: pgx sends the file with the simple protocol, which
	// runs several statements (modernc runs them all anyway).
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, err
	}
	_, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
		m.version, m.name, dbTime(time.Now()))
	return err == nil, err
}
