// Package migrations holds Barrage's numbered SQL migrations, one folder per
// dialect, embedded into the binary so that a server applies them itself
// (internal/store does, when it opens a database).
//
// Files are named NNNN_description.sql. The number is the version recorded
// in the schema_migrations table; it must be unique within a dialect and
// never change once released. A file is applied whole, inside one
// transaction, so a failing migration leaves nothing half done.
package migrations

import (
	"embed"
	"io/fs"
)

//go:embed postgres/*.sql sqlite/*.sql
var files embed.FS

// Postgres returns the Postgres migrations (files at the root of the FS).
func Postgres() fs.FS { return sub("postgres") }

// SQLite returns the SQLite migrations (files at the root of the FS).
func SQLite() fs.FS { return sub("sqlite") }

func sub(dir string) fs.FS {
	f, err := fs.Sub(files, dir)
	if err != nil {
		// fs.Sub fails only on an invalid path; dir is a constant.
		panic(err)
	}
	return f
}
