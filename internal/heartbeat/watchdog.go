package heartbeat

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/kvmha/kvmha/internal/agentlog"

	"golang.org/x/sys/unix"
)

// Watchdog resets the host unless fed. The daemon opens (arms) it once it
// is healthy and feeds it only while it stays healthy.
type Watchdog interface {
	Feed() error
	// Disarm stops the watchdog for good (the magic close): only after a
	// clean stop whose final record says so.
	Disarm() error
	// Timeout is the effective timeout, 0 for none.
	Timeout() time.Duration
	String() string
}

type watchdogKind int

const (
	watchdogNone watchdogKind = iota
	watchdogDevice
	watchdogFile
)

type watchdogSpec struct {
	kind watchdogKind
	path string
}

// parseWatchdog reads watchdog_device: a device path, "none", or
// "file:PATH" — a test stand-in that rewrites PATH ("%n" is the node name)
// at every feed and removes it when disarmed, for a harness that acts like
// the hardware (the lab's kills the node when the file gets old).
func parseWatchdog(s string) (watchdogSpec, error) {
	switch {
	case s == "none":
		return watchdogSpec{kind: watchdogNone}, nil
	case strings.HasPrefix(s, "file:"):
		p := strings.TrimPrefix(s, "file:")
		if !strings.HasPrefix(p, "/") {
			return watchdogSpec{}, fmt.Errorf("watchdog %q: file: needs an absolute path", agentlog.Clip(s))
		}
		return watchdogSpec{kind: watchdogFile, path: p}, nil
	case strings.HasPrefix(s, "/dev/"):
		return watchdogSpec{kind: watchdogDevice, path: s}, nil
	}
	return watchdogSpec{}, fmt.Errorf("watchdog %q: a device under /dev, none, or file:PATH", agentlog.Clip(s))
}

// WatchdogAnnounced is the timeout a configuration promises before the
// watchdog is open (0 for none).
func WatchdogAnnounced(device string, timeout time.Duration) time.Duration {
	if ws, err := parseWatchdog(device); err != nil || ws.kind == watchdogNone {
		return 0
	}
	return timeout
}

// OpenWatchdog arms the watchdog device (for node, whose name replaces %n
// in a file: path) with timeout.
func OpenWatchdog(device, node string, timeout time.Duration) (Watchdog, error) {
	ws, err := parseWatchdog(device)
	if err != nil {
		return nil, err
	}
	switch ws.kind {
	case watchdogDevice:
		return openDeviceWatchdog(ws.path, timeout)
	case watchdogFile:
		w := &fileWatchdog{path: strings.ReplaceAll(ws.path, "%n", node), timeout: timeout}
		return w, w.Feed()
	}
	return noWatchdog{}, nil
}

type noWatchdog struct{}

func (noWatchdog) Feed() error            { return nil }
func (noWatchdog) Disarm() error          { return nil }
func (noWatchdog) Timeout() time.Duration { return 0 }
func (noWatchdog) String() string         { return "none" }

// deviceWatchdog is a Linux watchdog device (softdog, iTCO_wdt, ipmi...).
type deviceWatchdog struct {
	f       *os.File
	path    string
	timeout time.Duration
}

func openDeviceWatchdog(path string, timeout time.Duration) (*deviceWatchdog, error) {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("watchdog: %w", err)
	}
	w := &deviceWatchdog{f: f, path: path}
	secs := int((timeout + time.Second - 1) / time.Second)
	fd := int(f.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.WDIOC_SETTIMEOUT, secs); err != nil {
		// Some drivers have a fixed timeout; what counts is the real one.
		w.timeout = timeout
	}
	if got, err := unix.IoctlGetInt(fd, unix.WDIOC_GETTIMEOUT); err == nil && got > 0 {
		w.timeout = time.Duration(got) * time.Second
	} else if w.timeout == 0 {
		w.timeout = time.Duration(secs) * time.Second
	}
	return w, w.Feed()
}

func (w *deviceWatchdog) Feed() error {
	if err := unix.IoctlWatchdogKeepalive(int(w.f.Fd())); err != nil {
		// Every driver accepts a write as a keepalive.
		if _, werr := w.f.Write([]byte{0}); werr != nil {
			return fmt.Errorf("watchdog %s: %w", w.path, errors.Join(err, werr))
		}
	}
	return nil
}

func (w *deviceWatchdog) Disarm() error {
	_, err := w.f.Write([]byte("V"))
	return errors.Join(err, w.f.Close())
}

func (w *deviceWatchdog) Timeout() time.Duration { return w.timeout }
func (w *deviceWatchdog) String() string         { return w.path }

// fileWatchdog is the test stand-in (see parseWatchdog).
type fileWatchdog struct {
	path    string
	timeout time.Duration
}

func (w *fileWatchdog) Feed() error {
	return os.WriteFile(w.path, []byte("timeout_ms="+strconv.FormatInt(w.timeout.Milliseconds(), 10)+"\n"), 0o644)
}

func (w *fileWatchdog) Disarm() error {
	if err := os.Remove(w.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

func (w *fileWatchdog) Timeout() time.Duration { return w.timeout }
func (w *fileWatchdog) String() string         { return "file:" + w.path }
