package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// cliDocsPath is the command reference, relative to the repository root.
const cliDocsPath = "docs/cli.md"

// regenerateDocs is how to rebuild docs/cli.md, for its header and for the
// test that finds it stale.
const regenerateDocs = "make docs (go run ./cmd/barrage docs cli --out docs/cli.md)"

// newDocsCmd is the hidden `barrage docs cli`, which writes docs/cli.md.
func newDocsCmd() *cobra.Command {
	var out string
	cli := &cobra.Command{
		Use:   "cli",
		Short: "write the command reference (Markdown)",
		Args:  wantArgs(0, ""),
		RunE: func(c *cobra.Command, _ []string) error {
			doc := cliReference(c.Root())
			if out == "" {
				_, err := os.Stdout.Write(doc)
				return err
			}
			return os.WriteFile(out, doc, 0o644) // #nosec G306 -- docs/cli.md, a file of the repository like any other
		},
	}
	cli.Flags().StringVar(&out, "out", "", "write to this file (default: stdout)")
	docs := newGroupCmd("docs", "generate documentation", cli)
	docs.Hidden = true
	return docs
}

// cliReference renders every visible command of root's tree: its use
// line, description and flags, with the variables that set them.
func cliReference(root *cobra.Command) []byte {
	root.InitDefaultCompletionCmd()
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Command reference\n\n<!-- Generated from cmd/barrage by %s; do not edit. -->\n\n", regenerateDocs)
	fmt.Fprint(&b, "Flags take one dash or two (`-server URL` or `--server URL`), before or after the arguments. ")
	fmt.Fprint(&b, "A flag given on the command line wins over its environment variable (when set and not empty), which wins over the default.\n")
	writeCommand(&b, root)
	return b.Bytes()
}

func writeCommand(w io.Writer, c *cobra.Command) {
	fmt.Fprintf(w, "\n## %s\n\n%s.\n\n", c.CommandPath(), capitalise(c.Short))
	use := c.UseLine()
	if c.HasAvailableSubCommands() {
		use = c.CommandPath() + " <command>"
	}
	fmt.Fprintf(w, "```text\n%s\n```\n", use)
	if c.Long != "" {
		fmt.Fprintf(w, "\n```text\n%s\n```\n", strings.TrimSpace(c.Long))
	}
	if c.HasAvailableSubCommands() {
		fmt.Fprint(w, "\n| command | description |\n|---|---|\n")
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() {
				fmt.Fprintf(w, "| [%s](#%s) | %s |\n", sub.Name(), anchor(sub.CommandPath()), cell(sub.Short))
			}
		}
	}
	if c.HasAvailableLocalFlags() {
		fmt.Fprint(w, "\n| flag | default | env | description |\n|---|---|---|---|\n")
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if f.Hidden || f.Name == "help" {
				return
			}
			typ, usage := pflag.UnquoteUsage(f)
			dashes := "--"
			if len(f.Name) == 1 {
				dashes = "-" // -v reads better than --v; both work
			}
			fmt.Fprintf(w, "| `%s%s` | %s | %s | %s |\n", dashes, strings.TrimSpace(f.Name+" "+typ),
				code(flagDefault(f)), code(envFor(c, f.Name)), cell(usage))
		})
	}
	for _, sub := range c.Commands() {
		if sub.IsAvailableCommand() {
			writeCommand(w, sub)
		}
	}
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// anchor is the id GitHub gives a heading.
func anchor(heading string) string {
	return strings.ReplaceAll(strings.ToLower(heading), " ", "-")
}

func code(s string) string {
	if s == "" {
		return ""
	}
	return "`" + s + "`"
}

func cell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ")
}
