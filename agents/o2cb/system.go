package o2cb

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/kvmha/kvmha/internal/hostcmd"
	"golang.org/x/sys/unix"
)

// deps is everything the agent touches outside its own process. Every root is a field so
// that unit tests run the agent against fake trees in a temporary folder; productionDeps
// fills in the host's.
type deps struct {
	// configfsDir is where configfs is (to be) mounted; configfs accesses it.
	configfsDir string
	configfs    configFS
	// sysfsDir, procDir and modulesDir are /sys, /proc and /lib/modules.
	sysfsDir   string
	procDir    string
	modulesDir string
	// stateDir keeps what start did, for stop: /run/kvmha (a tmpfs, so a
	// reboot forgets it together with everything it describes).
	stateDir string

	mount   func(source, target, fstype string) error
	unmount func(target string) error
	// modprobe loads kernel modules (and what they depend on). Only start calls it, and
	// only for modules that are missing. It is the agent's only child process: loading a
	// module by hand (finit_module) would mean reimplementing modprobe's dependency order,
	// blacklists, options and compressed modules.
	modprobe func(ctx context.Context, names ...string) error
	hostname func() (string, error)
	// release is the running kernel's release (uname -r).
	release func() string
	// lookupIPv4 resolves a host name of corosync.conf to IPv4 addresses.
	lookupIPv4 func(ctx context.Context, host string) ([]netip.Addr, error)
	// openDevice opens a block device for a global heartbeat region.
	openDevice func(path string, write bool) (*os.File, error)
	// sectorSize is a block device's logical sector size (BLKSSZGET).
	sectorSize func(*os.File) (int, error)
	// devicesDir is /dev, and blockDir /sys/class/block, where global
	// heartbeat regions given by UUID are looked for.
	devicesDir string
	blockDir   string
}

// productionDeps is the host.
func productionDeps() deps {
	const configfsDir = "/sys/kernel/config"
	return deps{
		configfsDir: configfsDir,
		configfs:    realConfigFS{root: configfsDir},
		sysfsDir:    "/sys",
		procDir:     "/proc",
		modulesDir:  "/lib/modules",
		stateDir:    "/run/kvmha",
		devicesDir:  "/dev",
		blockDir:    "/sys/class/block",
		mount: func(source, target, fstype string) error {
			return unix.Mount(source, target, fstype, unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
		},
		unmount:  func(target string) error { return unix.Unmount(target, 0) },
		modprobe: hostcmd.LoadModules,
		hostname: os.Hostname,
		release: func() string {
			var u unix.Utsname
			if unix.Uname(&u) != nil {
				return ""
			}
			return unix.ByteSliceToString(u.Release[:])
		},
		lookupIPv4: func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip4", host)
		},
		openDevice: openBlockDevice,
		sectorSize: sectorSize,
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

func (s *deps) proc(name string) string { return filepath.Join(s.procDir, name) }

func (s *deps) sysfs(path string) string { return filepath.Join(s.sysfsDir, path) }

// clusterStackFile says which cluster stack OCFS2 uses ("o2cb", "pcmk").
func (s *deps) clusterStackFile() string { return s.sysfs("fs/ocfs2/cluster_stack") }
