package main

import (
	"context"
	"fmt"

	"github.com/barrage/barrage/internal/store"
)

// runMigrate is `barrage migrate`: apply the database migrations and exit.
func runMigrate(ctx context.Context, args []string) error {
	fs := newFlagSet("migrate")
	dsn := fs.String("db", "sqlite:./barrage.db", "database: postgres://… or sqlite:PATH")
	if err := fs.Parse(args); err != nil {
		return &exitError{code: exitBadInput, err: err}
	}
	applied, err := store.Migrate(ctx, *dsn)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Println("barrage migrate: the database is up to date")
	}
	for _, m := range applied {
		fmt.Println("barrage migrate: applied", m)
	}
	return nil
}
