// Command barrage is the Barrage load tester: one binary for the server, the
// fleet workers, the CLI that runs scenarios, and the built-in demo target.
//
// This file only dispatches to subcommands; each subcommand turns its flags into
// one config value and hands it to the packages that do the work.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// exitError carries a specific process exit code out of a subcommand.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

type subcommand struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string) error
}

func subcommands() []subcommand {
	return []subcommand{
		{"run", "run a scenario file and write its report", runRun},
		{"server", "run the Barrage service: API, ingest, the run workflows (and Temporal, embedded)", runServer},
		{"worker", "run a fleet node that executes load shards", runWorker},
		{"migrate", "apply the database migrations", runMigrate},
		{"runs", "list, inspect, abort or ramp runs on a server; fetch reports", runRuns},
		{"scenarios", "store (push) or list scenarios on a server", runScenarios},
		{"target", "run the built-in HTTP target for demos, tests and benchmarks", runTarget},
		{"validate", "check a scenario file and print its load profile", runValidate},
	}
}

func main() {
	os.Exit(realMain(os.Args[1:]))
}

func realMain(args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage()
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	for _, sc := range subcommands() {
		if sc.name != args[0] {
			continue
		}
		err := sc.run(ctx, args[1:])
		if err == nil {
			return 0
		}
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		var ee *exitError
		if errors.As(err, &ee) {
			if ee.err != nil {
				fmt.Fprintf(os.Stderr, "barrage %s: %v\n", sc.name, ee.err)
			}
			return ee.code
		}
		fmt.Fprintf(os.Stderr, "barrage %s: %v\n", sc.name, err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "barrage: unknown command %q\n\n", args[0])
	usage()
	return 2
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: barrage <command> [flags]")
	fmt.Fprintln(os.Stderr)
	fmt.Fprintln(os.Stderr, "commands:")
	for _, sc := range subcommands() {
		fmt.Fprintf(os.Stderr, "  %-10s %s\n", sc.name, sc.summary)
	}
	fmt.Fprintln(os.Stderr)
	fmt.Fprintln(os.Stderr, "run 'barrage <command> -h' for the flags of a command")
}

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("barrage "+name, flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	return fs
}
