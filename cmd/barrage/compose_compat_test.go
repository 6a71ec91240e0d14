package main

import (
	"fmt"

	"github.com/spf13/pflag"
)

// compose_test.go was written against the CLI before cobra; these give it
// the two helpers it calls. Delete them once it no longer does.

type subcommand struct{ name string }

// subcommands lists the top-level commands.
func subcommands() []subcommand {
	var out []subcommand
	for _, c := range newRootCmd().Commands() {
		if c.IsAvailableCommand() {
			out = append(out, subcommand{name: c.Name()})
		}
	}
	return out
}

// parseTargetFlags reads the target command's flags as the command does.
func parseTargetFlags(args []string) (targetOptions, error) {
	var tf targetFlags
	fs := pflag.NewFlagSet("target", pflag.ContinueOnError)
	tf.register(fs)
	if err := fs.Parse(longDashes(newRootCmd(), append([]string{"target"}, args...))[1:]); err != nil {
		return targetOptions{}, err
	}
	if fs.NArg() > 0 {
		return targetOptions{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return tf.options()
}
