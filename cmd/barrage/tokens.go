package main

import (
	"context"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/barrage/barrage/internal/service"
	"github.com/barrage/barrage/internal/store"
)

// newTokensCmd is `barrage tokens create|list|revoke`: API tokens, managed
// on the server's database (the way to make the first admin token; admins
// can also use POST/GET/DELETE /tokens).
func newTokensCmd() *cobra.Command {
	c := &cobra.Command{Use: "tokens", Short: "create, list and revoke API tokens (on the server's database)"}
	var dsn, name, role string
	withAccess := func(cmd *cobra.Command, fn func(ctx context.Context, a *service.Access, st store.Store) error) error {
		// The first token may be made before the server ever ran: create
		// makes (and migrates) the database; list and revoke do not.
		st, err := openStore(cmd.Context(), dsn, cmd.Name() == "create")
		if err != nil {
			return err
		}
		defer st.Close()
		return fn(cmd.Context(), service.NewAccess(st), st)
	}
	create := &cobra.Command{
		Use:   "create --name NAME --role viewer|runner|admin",
		Short: "make a token; it is printed once, as the last line, and only its hash is kept",
		Args:  wantArgs(0, ""),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withAccess(cmd, func(ctx context.Context, a *service.Access, _ store.Store) error {
				tok, _, err := a.CreateToken(ctx, name, role, "cli")
				if err != nil {
					return refusedService(err)
				}
				fmt.Fprintf(os.Stderr, "token %s (%s) created; it is shown only now:\n", name, role)
				fmt.Println(tok)
				return nil
			})
		},
	}
	create.Flags().StringVar(&name, "name", "", "the token's name: who uses it, as the audit log will say")
	create.Flags().StringVar(&role, "role", "", "viewer (reads), runner (also starts, aborts and ramps runs, edits scenarios) or admin (also deletes and manages tokens)")
	list := &cobra.Command{
		Use:   "list",
		Short: "list the tokens: names, roles, when made and last used (never the tokens)",
		Args:  wantArgs(0, ""),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withAccess(cmd, func(ctx context.Context, a *service.Access, _ store.Store) error {
				ts, err := a.ListTokens(ctx)
				if err != nil {
					return err
				}
				w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "NAME\tROLE\tCREATED\tBY\tLAST USED")
				for _, t := range ts {
					last := "never"
					if !t.LastUsed.IsZero() {
						last = t.LastUsed.Format(time.RFC3339)
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", t.Name, t.Role, t.CreatedAt.Format(time.RFC3339), t.CreatedBy, last)
				}
				return w.Flush()
			})
		},
	}
	revoke := &cobra.Command{
		Use:   "revoke NAME",
		Short: "revoke a token: it stops working at once",
		Args:  wantArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withAccess(cmd, func(ctx context.Context, a *service.Access, _ store.Store) error {
				if err := a.RevokeToken(ctx, args[0], "cli"); err != nil {
					return refusedService(err)
				}
				fmt.Printf("token %s revoked\n", args[0])
				return nil
			})
		},
	}
	for _, sub := range []*cobra.Command{create, list, revoke} {
		sub.Flags().StringVar(&dsn, "db", "sqlite:./barrage.db", "the server's database: postgres://… or sqlite:PATH")
		c.AddCommand(sub)
	}
	return c
}

// refusedService makes the service's refusal (a bad name, a taken one, an
// unknown one) exit 2, as bad input.
func refusedService(err error) error {
	if _, ok := err.(*service.Error); ok {
		return &exitError{code: exitBadInput, err: err}
	}
	return err
}
