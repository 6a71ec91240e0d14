package main

import (
	"cmp"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// printHelp is -h: the command's description and usage. Help goes to stderr
// and lists flags as the flag package did ("  -name type" then the usage),
// as before cobra.
func printHelp(c *cobra.Command, _ []string) {
	w := c.ErrOrStderr()
	if d := strings.TrimSpace(cmp.Or(c.Long, c.Short)); d != "" {
		fmt.Fprintf(w, "%s\n\n", d)
	}
	printUsage(w, c)
}

func printUsage(w io.Writer, c *cobra.Command) {
	if c.HasAvailableSubCommands() {
		fmt.Fprintf(w, "usage: %s <command>\n\ncommands:\n", c.CommandPath())
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() {
				fmt.Fprintf(w, "  %-11s %s\n", sub.Name(), sub.Short)
			}
		}
		fmt.Fprintf(w, "\nrun '%s <command> -h' for the flags of a command\n", c.CommandPath())
		return
	}
	fmt.Fprintf(w, "usage: %s\n", c.UseLine())
	if c.HasAvailableLocalFlags() {
		fmt.Fprintln(w, "\nflags:")
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if !f.Hidden && f.Name != "help" {
				fmt.Fprintln(w, flagHelp(c, f))
			}
		})
	}
}

// flagHelp formats one flag as flag.PrintDefaults does, with the variable
// that can set it.
func flagHelp(c *cobra.Command, f *pflag.Flag) string {
	typ, usage := pflag.UnquoteUsage(f)
	line := "  -" + f.Name
	if typ != "" {
		line += " " + typ
	}
	if len(line) <= 4 { // a one-letter bool: its usage on the same line
		line += "\t"
	} else {
		line += "\n    \t"
	}
	line += strings.ReplaceAll(usage, "\n", "\n    \t")
	if d := flagDefault(f); d != "" {
		line += " (default " + d + ")"
	}
	if env := envFor(c, f.Name); env != "" {
		line += " (env " + env + ")"
	}
	return line
}

// flagDefault is the default as help shows it, "" for a zero value.
func flagDefault(f *pflag.Flag) string {
	switch f.DefValue {
	case "", "0", "false", "0s", "[]", "map[]":
		return ""
	}
	if f.Value.Type() == "string" {
		return fmt.Sprintf("%q", f.DefValue)
	}
	return f.DefValue
}
