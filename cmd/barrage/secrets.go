package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/barrage/barrage/api/client"
	"github.com/barrage/barrage/internal/service"
)

// newSecretsCmd is `barrage secrets set|list|delete`: the values scenarios
// read as {{ secret.NAME }}, kept sealed by the server.
func newSecretsCmd() *cobra.Command {
	set := newClientCmd("set NAME", "set a secret from standard input (never an argument: it would stay in the shell's history)", wantArgs(1, "NAME"),
		func(ctx context.Context, c *client.Client, args []string) error {
			if fi, err := os.Stdin.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
				fmt.Fprintf(os.Stderr, "value of %s (then Enter and Ctrl-D): ", args[0])
			}
			b, err := io.ReadAll(io.LimitReader(os.Stdin, service.MaxSecretSize+2))
			if err != nil {
				return err
			}
			value := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
			if value == "" {
				return &exitError{code: exitBadInput, err: errors.New("the value on standard input is empty")}
			}
			if err := c.SetSecret(ctx, args[0], value); err != nil {
				return err
			}
			fmt.Printf("secret %s set\n", args[0])
			return nil
		})
	list := newClientCmd("list", "list the secrets: names, when set and by whom (never the values)", wantArgs(0, ""),
		func(ctx context.Context, c *client.Client, _ []string) error {
			list, err := c.ListSecrets(ctx)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tUPDATED\tBY")
			for _, s := range list {
				fmt.Fprintf(w, "%s\t%s\t%s\n", s.Name, s.UpdatedAt.Format(time.RFC3339), s.UpdatedBy)
			}
			return w.Flush()
		})
	del := newClientCmd("delete NAME", "delete a secret (admin)", wantArgs(1, "NAME"),
		func(ctx context.Context, c *client.Client, args []string) error {
			if err := c.DeleteSecret(ctx, args[0]); err != nil {
				return err
			}
			fmt.Printf("secret %s deleted\n", args[0])
			return nil
		})
	c := &cobra.Command{Use: "secrets", Short: "set, list and delete the secrets scenarios read as {{ secret.NAME }}"}
	c.AddCommand(set, list, del)
	return c
}
