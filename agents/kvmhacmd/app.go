// Package kvmhacmd is the kvmha administration command: its subcommands,
// flags and output. cmd/kvmha only runs App; the work is done by the
// internal packages (the heartbeat daemon is internal/heartbeat's Daemon).
// It lives among the agents because, like them, it is one program's
// interface over the shared runtime: cmd → agents → internal.
package kvmhacmd

import (
	"fmt"
	"io"
	"os"

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

// Main runs the command with args and returns the exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	app := App()
	app.Writer, app.ErrWriter = stdout, stderr
	app.ExitErrHandler = func(*cli.Context, error) {} // Main reports and exits
	if err := app.Run(args); err != nil {
		if msg := err.Error(); msg != "" {
			fmt.Fprintf(stderr, "kvmha: %s\n", msg)
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
