package kvmhacmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/kvmha/kvmha/internal/agentlog"
	"github.com/kvmha/kvmha/internal/ceph"
	"github.com/kvmha/kvmha/internal/files"
	"github.com/kvmha/kvmha/internal/heartbeat"
	"github.com/kvmha/kvmha/internal/heartbeat/libvirtguests"
	"github.com/kvmha/kvmha/internal/heartbeat/radosbackend"
	"github.com/kvmha/kvmha/internal/hostcmd"
)

func runCommand() *cli.Command {
	return &cli.Command{
		Name:  "run",
		Usage: "run the heartbeat daemon in the foreground (HostHeartbeat's start runs it detached)",
		Description: "Runs until SIGTERM or SIGINT, then writes a stopped record and disarms the watchdog. " +
			"Exit status: 0 after a clean stop, 1 when the daemon failed, 2 on bad usage or when the " +
			"configuration file (a regular file of at most 1 MiB, read within 5 s) or the Ceph files it " +
			"names cannot be read or are invalid.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Value: heartbeat.ConfigPathIn(heartbeat.DefaultStateDir),
				Usage: "configuration file, as HostHeartbeat writes it"},
			&cli.BoolFlag{Name: "syslog", Value: true, Usage: "also log to syslog"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return cli.Exit("kvmha heartbeat run takes no arguments, only flags", exitUsage)
			}
			log := newDaemonLog(c.App.ErrWriter, c.Bool("syslog"))
			defer log.close()
			ctx, stop := signal.NotifyContext(c.Context, syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			signal.Ignore(syscall.SIGHUP, syscall.SIGPIPE)
			if err := runDaemon(ctx, c.String("config"), log, c.App.ErrWriter); err != nil {
				log.Errorf("%v", err)
				var bad badInput
				if errors.As(err, &bad) {
					return cli.Exit("", exitUsage)
				}
				return cli.Exit("", 1)
			}
			return nil
		},
	}
}

// badInput is an error in what the command was given (its configuration file, the
// files that names): exit status 2, as for bad usage.
type badInput struct{ error }

func (b badInput) Unwrap() error { return b.error }

// runDaemon runs the daemon of the configuration file until ctx ends.
func runDaemon(ctx context.Context, path string, log *daemonLog, out io.Writer) error {
	cfg, err := heartbeat.ReadConfig(path)
	if err != nil {
		return badInput{fmt.Errorf("configuration: %w", err)}
	}
	specs, err := cfg.Validate()
	if err != nil {
		return badInput{fmt.Errorf("%s: %w", agentlog.Clip(path), err)}
	}
	if err := checkCephFiles(ctx, specs, cephFiles{cfg.CephConf, "ceph_conf", cfg.CephKeyring, "ceph_keyring"}); err != nil {
		return badInput{fmt.Errorf("%s: %w", agentlog.Clip(path), err)}
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

// cephFiles are the Ceph configuration file and keyring a command is given, and the
// names of the flags or fields that give them (for messages).
type cephFiles struct{ conf, confName, keyring, keyringName string }

// checkCephFiles checks, when a backend is on RADOS, the Ceph configuration file and
// keyring librados will read: librados reads them whole and without a deadline, so a FIFO
// or /dev/zero there would hang the daemon or grow it without bound.
func checkCephFiles(ctx context.Context, specs []heartbeat.Spec, f cephFiles) error {
	if !slices.ContainsFunc(specs, func(s heartbeat.Spec) bool { return s.Scheme == heartbeat.SchemeRADOS }) {
		return nil
	}
	if f.conf != "" {
		if err := ceph.CheckConfFile(ctx, f.conf); err != nil {
			return fmt.Errorf("%s: %w", f.confName, err)
		}
	}
	if f.keyring != "" {
		if err := ceph.CheckKeyringFile(ctx, f.keyring); err != nil {
			return fmt.Errorf("%s: %w", f.keyringName, err)
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
