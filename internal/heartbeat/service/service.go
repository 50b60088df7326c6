// Package service is the heartbeat daemon as a host runs it ("kvmha heartbeat run", which
// ocf:kvmha:HostHeartbeat starts detached): it reads the configuration file HostHeartbeat
// wrote, checks the files it names, takes the state directory's lock, opens the backends
// (RADOS through radosbackend), the watchdog and the self-fencer, lists the running guests
// through libvirt, and runs internal/heartbeat's Daemon until told to stop.
package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/kvmha/kvmha/internal/agentlog"
	"github.com/kvmha/kvmha/internal/ceph"
	"github.com/kvmha/kvmha/internal/files"
	"github.com/kvmha/kvmha/internal/heartbeat"
	"github.com/kvmha/kvmha/internal/heartbeat/libvirtguests"
	"github.com/kvmha/kvmha/internal/heartbeat/radosbackend"
	"github.com/kvmha/kvmha/internal/hostcmd"
)

// BadInputError is an error in what the daemon was given (its configuration file, the
// files that names), not in what it met while running: the command exits 2 for it, as for
// bad usage.
type BadInputError struct{ error }

func (b BadInputError) Unwrap() error { return b.error }

// Run runs the daemon of the configuration file at path until ctx ends, logging to log;
// out is where the self-fencer's "exec:" command writes.
func Run(ctx context.Context, path string, log *Log, out io.Writer) error {
	cfg, err := heartbeat.ReadConfig(path)
	if err != nil {
		return BadInputError{fmt.Errorf("configuration: %w", err)}
	}
	specs, err := cfg.Validate()
	if err != nil {
		return BadInputError{fmt.Errorf("%s: %w", agentlog.Clip(path), err)}
	}
	if err := CheckCephFiles(ctx, specs, CephFiles{Conf: cfg.CephConf, ConfName: "ceph_conf", Keyring: cfg.CephKeyring, KeyringName: "ceph_keyring"}); err != nil {
		return BadInputError{fmt.Errorf("%s: %w", agentlog.Clip(path), err)}
	}
	unlock, err := lockStateDir(cfg.StateDir)
	if err != nil {
		return err
	}
	defer unlock()
	if err := files.WriteAtomic(cfg.PIDPath(), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return err
	}
	cephCfg := ceph.Config{ConfPath: cfg.CephConf, User: cfg.CephUser, Keyring: cfg.CephKeyring}
	backends, err := heartbeat.OpenAll(ctx, specs, radosbackend.Opener(cephCfg, cfg.Timeout.D()))
	if err != nil {
		return err
	}
	defer func() {
		for _, b := range backends {
			b.Close()
		}
	}()
	fence, err := heartbeat.NewSelfFencer(cfg.SelfFence, cfg.Node, out)
	if err != nil {
		return err
	}
	deps := heartbeat.Deps{
		Backends: backends,
		OpenWatchdog: func() (heartbeat.Watchdog, error) {
			return heartbeat.OpenWatchdog(cfg.WatchdogDevice, cfg.Node, cfg.WatchdogTimeout.D())
		},
		SelfFence:    fence,
		Addrs:        radosbackend.Addrs(backends),
		SetAttribute: hostcmd.SetNodeAttributeDampened, // attrd's IPC has no Go client: the daemon forks (monitors never do)
		Log:          log,
		BootID:       bootID(),
	}
	if cfg.LibvirtURI != "" {
		deps.Guests = &libvirtguests.Source{URI: cfg.LibvirtURI}
	}
	d, err := heartbeat.New(*cfg, deps)
	if err != nil {
		return err
	}
	log.Infof("heartbeat of %s starting (incarnation %d): backends %s, interval %s, timeout %s, watchdog %s (%s), self-fence %s",
		cfg.Node, d.Incarnation(), strings.Join(cfg.Backends, " "), cfg.Interval.D(), cfg.Timeout.D(),
		cfg.WatchdogDevice, cfg.WatchdogTimeout.D(), cfg.SelfFence)
	if err := d.Run(ctx); err != nil {
		return err
	}
	os.Remove(cfg.PIDPath())
	return nil
}

// CephFiles are the Ceph configuration file and keyring a command is given, and the
// names of the flags or fields that give them (for messages).
type CephFiles struct{ Conf, ConfName, Keyring, KeyringName string }

// CheckCephFiles checks, when a backend is on RADOS, the Ceph configuration file and
// keyring librados will read: librados reads them whole and without a deadline, so a FIFO
// or /dev/zero there would hang the daemon or grow it without bound.
func CheckCephFiles(ctx context.Context, specs []heartbeat.Spec, f CephFiles) error {
	if !slices.ContainsFunc(specs, func(s heartbeat.Spec) bool { return s.Scheme == heartbeat.SchemeRADOS }) {
		return nil
	}
	if f.Conf != "" {
		if err := ceph.CheckConfFile(ctx, f.Conf); err != nil {
			return fmt.Errorf("%s: %w", f.ConfName, err)
		}
	}
	if f.Keyring != "" {
		if err := ceph.CheckKeyringFile(ctx, f.Keyring); err != nil {
			return fmt.Errorf("%s: %w", f.KeyringName, err)
		}
	}
	return nil
}

// lockStateDir takes the state directory's lock: one daemon per host.
func lockStateDir(dir string) (func(), error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, "heartbeat.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("another heartbeat daemon runs with state directory %s", dir)
		}
		return nil, err
	}
	return func() { f.Close() }, nil
}

// bootID is the kernel's boot id ("" when unreadable: records then give
// no reboot proof).
func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
