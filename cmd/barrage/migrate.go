package main

import (
	"fmt"

	"github.com/barrage/barrage/internal/store"
	"github.com/spf13/cobra"
)

// newMigrateCmd is `barrage migrate`: apply the database migrations and exit.
func newMigrateCmd() *cobra.Command {
	var dsn string
	c := &cobra.Command{
		Use:   "migrate",
		Short: "apply the database migrations",
		Args:  wantArgs(0, ""),
		RunE: func(c *cobra.Command, _ []string) error {
			applied, err := store.Migrate(c.Context(), dsn)
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
		},
	}
	c.Flags().StringVar(&dsn, "db", "sqlite:./barrage.db", "database: postgres://… or sqlite:PATH")
	return c
}
