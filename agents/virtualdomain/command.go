package virtualdomain

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/kvmha/kvmha/internal/hostcmd"
)

// runCommand runs argv (a monitor script, csync2) without a shell, the way hostcmd runs
// programs (bounded by ctx, hostcmd's environment: the agent's own holds the resource
// parameters, which children have no business seeing), with its error output mixed into
// its output as they were written, for messages that quote both.
func runCommand(ctx context.Context, argv []string) (string, int, error) {
	if len(argv) == 0 {
		return "", 0, errors.New("no command")
	}
	res, err := hostcmd.Cmd{Name: argv[0], Args: argv[1:], Combined: true, MaxOutput: maxCommandOutput}.Run(ctx)
	if err != nil {
		return string(res.Stdout), -1, err
	}
	return string(res.Stdout), res.ExitCode, nil
}

// commandError turns a run result into an error ("" output trimmed).
func commandError(what, out string, code int, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if code != 0 {
		return fmt.Errorf("%s exited with %d: %s", what, code, clip(strings.TrimSpace(out), maxScriptOutput))
	}
	return nil
}

// maxCommandOutput bounds what the agent keeps of a program's output: a
// monitor script that prints without end must not grow the agent.
const maxCommandOutput = 64 << 10
