package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// The argument validators of every command. They say what docker's own
// commands say about wrong arguments: which command, how many it takes,
// where its help is, and its usage line, instead of cobra's
// "accepts 1 arg(s), received 0".

// noArgs accepts no argument. On a command with subcommands an argument is a
// command that does not exist, and the error suggests the nearest ones.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if cmd.HasSubCommands() {
		return unknownCommand(cmd, args[0])
	}
	return usageError(cmd, fmt.Sprintf("%q accepts no arguments.", cmd.CommandPath()))
}

// exactArgs accepts exactly n arguments.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == n {
			return nil
		}
		return usageError(cmd, fmt.Sprintf("%q requires exactly %s.", cmd.CommandPath(), arguments(n)))
	}
}

// maxArgs accepts at most n arguments.
func maxArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) <= n {
			return nil
		}
		return usageError(cmd, fmt.Sprintf("%q accepts at most %s.", cmd.CommandPath(), arguments(n)))
	}
}

func arguments(n int) string {
	if n == 1 {
		return "1 argument"
	}
	return fmt.Sprintf("%d arguments", n)
}

// unknownCommand keeps cobra's first line (scripts and people search for
// it) and adds the nearest commands, as git and cobra's own default do.
func unknownCommand(cmd *cobra.Command, name string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "unknown command %q for %q", name, cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2 // cobra's default
	}
	if near := cmd.SuggestionsFor(name); len(near) > 0 {
		b.WriteString("\n\nDid you mean this?")
		for _, s := range near {
			b.WriteString("\n\t" + s)
		}
		b.WriteString("\n")
	}
	return usageError(cmd, b.String())
}

// usageErr is a mistake on the command line: what is wrong, then where the
// command's help is, its usage line and what it does.
type usageErr struct {
	cmd *cobra.Command
	msg string
	err error // the flag parser's error, for a mistake in a flag
}

func usageError(cmd *cobra.Command, msg string) error { return &usageErr{cmd: cmd, msg: msg} }

// flagError is usageError for the flag parser's err.
func flagError(cmd *cobra.Command, err error) error {
	return &usageErr{cmd: cmd, msg: err.Error(), err: err}
}

func (e *usageErr) Error() string {
	return fmt.Sprintf("%s\nSee '%s --help'.\n\nUsage:  %s\n\n%s", e.msg, e.cmd.CommandPath(), usageLine(e.cmd), e.cmd.Short)
}

func (e *usageErr) Unwrap() error { return e.err }

// usageLine is the line that docker's help starts with: the command's Use
// line, or COMMAND for a command that only groups others.
func usageLine(cmd *cobra.Command) string {
	if cmd.HasAvailableSubCommands() && !strings.Contains(cmd.Use, " ") {
		return cmd.CommandPath() + " COMMAND"
	}
	return cmd.UseLine()
}
