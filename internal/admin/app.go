// Package admin is the kvmha administration command: its subcommands, their flags and
// output, one file per subcommand (heartbeat_run.go for "kvmha heartbeat run", and so on).
// cmd/kvmha only runs App; the work is done by other internal packages: the heartbeat
// daemon's wiring is internal/heartbeat/service, the checks internal/doctor, the
// failover arithmetic internal/capacity.
package admin

import (
	"fmt"
	"io"
	"os"

	"github.com/kvmha/kvmha/internal/agentlog"
	"github.com/urfave/cli/v2"
)

// version is the command's version; the build may override it.
var version = "0.1"

// App is the kvmha command.
func App() *cli.App {
	return &cli.App{
		Name:    "kvmha",
		Usage:   "administer kvmha: the storage heartbeat, host preflight checks and failover capacity",
		Version: version,
		Commands: []*cli.Command{
			heartbeatCommand(),
			doctorCommand(),
			capacityCommand(),
		},
		HideHelpCommand: true,
	}
}

func heartbeatCommand() *cli.Command {
	return &cli.Command{
		Name:  "heartbeat",
		Usage: "the host heartbeat on shared storage (see ocf:kvmha:HostHeartbeat)",
		Subcommands: []*cli.Command{
			runCommand(),
			statusCommand(),
			formatCommand(),
		},
	}
}

// exitUsage is the exit status of every usage error: an unknown flag, a flag value its type
// cannot hold, a missing argument. 1 means a finding (a failed check, a SHORT loss).
const exitUsage = 2

// usageErrorsExit2 makes flag parsing errors of the app and every subcommand exit 2
// instead of urfave/cli's 1, printing only the error (the help is one --help away).
// A --timeout that is not positive is a usage error too.
func usageErrorsExit2(cmds []*cli.Command) {
	for _, c := range cmds {
		c.OnUsageError = func(_ *cli.Context, err error, _ bool) error {
			return cli.Exit(err.Error()+" (see --help)", exitUsage)
		}
		if hasFlag(c, "timeout") {
			before := c.Before
			c.Before = func(ctx *cli.Context) error {
				if ctx.Duration("timeout") <= 0 {
					return cli.Exit("--timeout must be positive", exitUsage)
				}
				if before != nil {
					return before(ctx)
				}
				return nil
			}
		}
		usageErrorsExit2(c.Subcommands)
	}
}

func hasFlag(c *cli.Command, name string) bool {
	for _, f := range c.Flags {
		for _, n := range f.Names() {
			if n == name {
				return true
			}
		}
	}
	return false
}

// Main runs the command with args and returns the exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	app := App()
	usageErrorsExit2(app.Commands)
	app.OnUsageError = func(_ *cli.Context, err error, _ bool) error {
		return cli.Exit(err.Error()+" (see --help)", exitUsage)
	}
	notFound := false
	app.CommandNotFound = func(_ *cli.Context, name string) {
		fmt.Fprintf(stderr, "kvmha: no command %s (see --help)\n", agentlog.Clip(name))
		notFound = true
	}
	app.Writer, app.ErrWriter = stdout, stderr
	app.ExitErrHandler = func(*cli.Context, error) {} // Main reports and exits
	err := app.Run(args)
	if notFound {
		return exitUsage
	}
	if err != nil {
		if msg := err.Error(); msg != "" {
			fmt.Fprintf(stderr, "kvmha: %s\n", messageRedactor.Line(msg))
		}
		if ec, ok := err.(cli.ExitCoder); ok && ec.ExitCode() != 0 {
			return ec.ExitCode()
		}
		return 1
	}
	return 0
}

// Run is Main on the process's arguments and streams.
func Run() int { return Main(os.Args, os.Stdout, os.Stderr) }

// messageRedactor hides keys that reach a message by mistake (a key given as a flag value,
// a config file quoted in an error); the command holds no declared secrets of its own.
var messageRedactor = agentlog.NewRedactor("***")
