// Command barrage is the Barrage load tester: one binary for the server, the
// fleet workers, the CLI that runs scenarios, and the built-in demo target.
//
// The command tree is cobra's (cli.go); each command turns its own flags into
// one config value and hands it to the packages that do the work.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// exitError carries a specific process exit code out of a command; usage
// adds a pointer to the command's -h.
type exitError struct {
	code  int
	err   error
	usage bool
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageError is bad input on the command line: exit 2.
func usageError(err error) *exitError {
	return &exitError{code: exitBadInput, err: err, usage: true}
}

func main() {
	os.Exit(realMain(os.Args[1:]))
}

// realMain runs the command line args and returns the exit code: 0, 2 for
// bad input, what an exitError says, else 1.
func realMain(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCmd()
	root.SetArgs(longDashes(root, args))
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	name := cmd.CommandPath()
	var ee *exitError
	if !errors.As(err, &ee) {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 1
	}
	if ee.err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, ee.err)
	}
	if ee.usage {
		fmt.Fprintf(os.Stderr, "run '%s -h' for its usage\n", name)
	}
	return ee.code
}
