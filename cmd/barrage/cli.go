package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// newRootCmd builds the whole command tree. Each command has only its own
// flags: a flag another command has is an unknown flag there (exit 2).
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "barrage",
		Short: "distributed HTTP load tester",
		Long: "Barrage runs HTTP load scenarios on one machine or on a fleet of workers.\n" +
			"Flags take one dash or two (-server URL or --server URL), before or after the arguments.",
		Args:          cobra.ArbitraryArgs,
		RunE:          groupRunE,
		SilenceErrors: true, // realMain prints errors, with the exit code they carry
		SilenceUsage:  true,
		PersistentPreRunE: func(c *cobra.Command, _ []string) error {
			return applyEnv(c)
		},
	}
	root.AddCommand(newRunCmd(), newServerCmd(), newWorkerCmd(), newMigrateCmd(),
		newRunsCmd(), newCompareCmd(), newScenariosCmd(), newSchedulesCmd(), newSecretsCmd(), newTokensCmd(), newTargetCmd(), newValidateCmd(), newExportCmd(), newImportCmd(), newDocsCmd())
	root.SetFlagErrorFunc(flagError)
	root.SetHelpFunc(printHelp)
	root.SetUsageFunc(func(c *cobra.Command) error {
		printUsage(c.ErrOrStderr(), c)
		return nil
	})
	return root
}

// newGroupCmd is a command that only holds subcommands (runs, scenarios).
func newGroupCmd(use, short string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{Use: use, Short: short, Args: cobra.ArbitraryArgs, RunE: groupRunE}
	c.AddCommand(subs...)
	return c
}

// groupRunE answers a group given no subcommand, or one it does not have:
// exit 2, as before cobra (cobra itself would print help and exit 0).
func groupRunE(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		printUsage(c.ErrOrStderr(), c)
		return &exitError{code: exitBadInput}
	}
	msg := fmt.Sprintf("unknown command %q", args[0])
	c.SuggestionsMinimumDistance = 2 // cobra's own default, set only on its own error path
	if s := c.SuggestionsFor(args[0]); len(s) > 0 {
		msg += fmt.Sprintf(" (did you mean %q?)", s[0])
	}
	return usageError(errors.New(msg))
}

// wantArgs checks the number of positional arguments; want says what they
// are ("one scenario file", "RUN and TARGET").
func wantArgs(n int, want string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		switch {
		case len(args) == n:
			return nil
		case n == 0:
			return usageError(fmt.Errorf("unexpected arguments %q", args))
		}
		return usageError(fmt.Errorf("want %s, got %d arguments", want, len(args)))
	}
}

// flagError makes an unknown flag or a refused value a usage error (exit 2).
// A refused value is worded as the flag package worded it, which scripts
// and compose_test.go match on.
func flagError(_ *cobra.Command, err error) error {
	var bad *pflag.InvalidValueError
	if errors.As(err, &bad) {
		err = fmt.Errorf("invalid value %q for flag -%s: %w", bad.GetValue(), bad.GetFlag().Name, bad.Unwrap())
	}
	return usageError(err)
}

// longDashes rewrites single-dash long flags (-server URL, -max-vus=10) to
// their double-dash form before cobra parses them. Barrage used Go's flag
// package, which takes both; pflag would read -server as the shorthands
// s, e, r... Only the found command's own long flags are rewritten, never a
// flag's value, nothing after "--".
func longDashes(root *cobra.Command, args []string) []string {
	c, _, err := root.Find(args)
	if err != nil {
		return args
	}
	c.InitDefaultHelpFlag() // -help, as the flag package had it
	out := append([]string(nil), args...)
	for i := 0; i < len(out); i++ {
		a := out[i]
		if a == "--" {
			break
		}
		if len(a) < 2 || a[0] != '-' {
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimPrefix(a[1:], "-"), "=")
		f := c.Flags().Lookup(name)
		if f == nil || a[1] != '-' && len(name) == 1 && f.Shorthand == name {
			continue
		}
		if a[1] != '-' {
			out[i] = "-" + a
		}
		if !hasValue && f.NoOptDefVal == "" {
			i++ // the flag's value, even if it starts with a dash
		}
	}
	return out
}
