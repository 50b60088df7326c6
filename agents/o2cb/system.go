package o2cb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// System is everything the agent touches outside its own process. Every root
// is a field so that unit tests run the agent against fake trees in a
// temporary folder; RealSystem fills in the host's.
type System struct {
	// ConfigfsDir is where configfs is (to be) mounted; Configfs accesses it.
	ConfigfsDir string
	Configfs    configFS
	// SysfsDir, ProcDir and ModulesDir are /sys, /proc and /lib/modules.
	SysfsDir   string
	ProcDir    string
	ModulesDir string
	// StateDir keeps what start did, for stop: /run/kvmha (a tmpfs, so a
	// reboot forgets it together with everything it describes).
	StateDir string

	Mount   func(source, target, fstype string) error
	Unmount func(target string) error
	// Modprobe loads kernel modules (and what they depend on). Only start
	// calls it, and only for modules that are missing.
	Modprobe func(ctx context.Context, names ...string) error
	Hostname func() (string, error)
	// Release is the running kernel's release (uname -r).
	Release func() string
	// LookupIPv4 resolves a host name of corosync.conf to IPv4 addresses.
	LookupIPv4 func(ctx context.Context, host string) ([]netip.Addr, error)
	// OpenDevice opens a block device for a global heartbeat region.
	OpenDevice func(path string, write bool) (*os.File, error)
	// SectorSize is a block device's logical sector size (BLKSSZGET).
	SectorSize func(*os.File) (int, error)
	// DevicesDir is /dev, and BlockDir /sys/class/block, where global
	// heartbeat regions given by UUID are looked for.
	DevicesDir string
	BlockDir   string
}

// RealSystem is the host.
func RealSystem() *System {
	const configfsDir = "/sys/kernel/config"
	return &System{
		ConfigfsDir: configfsDir,
		Configfs:    realConfigFS{root: configfsDir},
		SysfsDir:    "/sys",
		ProcDir:     "/proc",
		ModulesDir:  "/lib/modules",
		StateDir:    "/run/kvmha",
		DevicesDir:  "/dev",
		BlockDir:    "/sys/class/block",
		Mount: func(source, target, fstype string) error {
			return unix.Mount(source, target, fstype, unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
		},
		Unmount:  func(target string) error { return unix.Unmount(target, 0) },
		Modprobe: modprobe,
		Hostname: os.Hostname,
		Release: func() string {
			var u unix.Utsname
			if unix.Uname(&u) != nil {
				return ""
			}
			return unix.ByteSliceToString(u.Release[:])
		},
		LookupIPv4: func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip4", host)
		},
		OpenDevice: openBlockDevice,
		SectorSize: sectorSize,
	}
}

// errNotBlockDevice: a heartbeat device path names something else (the kernel takes only
// block devices for a region).
var errNotBlockDevice = errors.New("not a block device")

// openBlockDevice opens a block device without blocking in open (O_NONBLOCK: a FIFO given
// as a device would otherwise wait for a writer forever) and refuses anything else.
func openBlockDevice(path string, write bool) (*os.File, error) {
	flags := os.O_RDONLY
	if write {
		flags = os.O_RDWR
	}
	f, err := os.OpenFile(path, flags|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if st.Mode()&os.ModeDevice == 0 || st.Mode()&os.ModeCharDevice != 0 {
		f.Close()
		return nil, &fs.PathError{Op: "open", Path: path, Err: errNotBlockDevice}
	}
	return f, nil
}

// modprobe runs modprobe -a. It is the agent's only child process: loading a
// module by hand (finit_module) would mean reimplementing modprobe's
// dependency order, blacklists, options and compressed modules. Monitor never
// calls it.
func modprobe(ctx context.Context, names ...string) error {
	path, err := exec.LookPath("modprobe")
	if err != nil {
		for _, p := range []string{"/usr/sbin/modprobe", "/sbin/modprobe"} {
			if _, serr := os.Stat(p); serr == nil {
				path, err = p, nil
				break
			}
		}
	}
	if err != nil {
		return fmt.Errorf("modprobe is not installed (package kmod): %w", err)
	}
	cmd := exec.CommandContext(ctx, path, append([]string{"-a"}, names...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(out.String())
		if i := strings.IndexByte(msg, '\n'); i >= 0 {
			msg = msg[:i]
		}
		if msg == "" {
			msg = err.Error()
		}
		return errors.New("modprobe " + strings.Join(names, " ") + ": " + msg)
	}
	return nil
}

func (s *System) proc(name string) string { return filepath.Join(s.ProcDir, name) }

func (s *System) sysfs(path string) string { return filepath.Join(s.SysfsDir, path) }

// clusterStackFile says which cluster stack OCFS2 uses ("o2cb", "pcmk").
func (s *System) clusterStackFile() string { return s.sysfs("fs/ocfs2/cluster_stack") }
