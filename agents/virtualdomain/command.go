package virtualdomain

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// runCommand runs argv[0] (found in PATH) without a shell, bounded by ctx,
// with a minimal environment: the agent's own environment holds the
// resource parameters, which children have no business seeing.
func runCommand(ctx context.Context, argv []string) (string, int, error) {
	if len(argv) == 0 {
		return "", 0, errors.New("no command")
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"}
	cmd.WaitDelay = time.Second
	out := &cappedBuffer{limit: maxCommandOutput}
	cmd.Stdout, cmd.Stderr = out, out
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) && ctx.Err() == nil {
		return out.String(), exit.ExitCode(), nil
	}
	if err != nil {
		return out.String(), -1, err
	}
	return out.String(), 0, nil
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

// cappedBuffer keeps the first limit bytes written to it and discards the
// rest, still reporting every write as complete so the program is not cut
// off by a broken pipe. (The buffer is a field, not embedded: io.Copy would
// use an embedded bytes.Buffer's ReadFrom and bypass the cap.)
type cappedBuffer struct {
	buf   bytes.Buffer
	limit int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if room := b.limit - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *cappedBuffer) String() string { return b.buf.String() }
