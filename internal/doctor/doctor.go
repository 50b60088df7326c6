package doctor

import (
	"context"
	"net"
	"strings"
	"time"

	"github.com/kvmha/kvmha/internal/agentlog"

	"github.com/kvmha/kvmha/internal/ceph"
	"github.com/kvmha/kvmha/internal/heartbeat"
)

// Pool is a pool, or a namespace of one, whose images the checks read.
type Pool struct{ Name, Namespace string }

func (p Pool) String() string {
	if p.Namespace == "" {
		return p.Name
	}
	return p.Name + "/" + p.Namespace
}

// ParsePools reads "rbd,vms/ns1": pools separated by commas, each
// optionally with /NAMESPACE.
func ParsePools(list string) ([]Pool, error) {
	var pools []Pool
	for _, f := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' }) {
		name, ns, _ := strings.Cut(f, "/")
		if name == "" || strings.Contains(ns, "/") || strings.ContainsAny(f, "@\x00") {
			return nil, &usageError{"--pools: " + agentlog.Clip(f) + " is not POOL or POOL/NAMESPACE"}
		}
		pools = append(pools, Pool{Name: name, Namespace: ns})
	}
	return pools, nil
}

type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// Doctor is one run: what to check (Config) and how to reach the world
// (the function fields, real ones from New, fakes in tests). Its checks
// share what they have in common - one Ceph session, one probe of the
// monitors, one answer of libvirtd - computed once in the run's context.
type Doctor struct {
	Root Root
	// Ceph is how to reach the cluster: ceph.conf, cephx user, keyring,
	// optional mon_host.
	Ceph  ceph.Config
	Pools []Pool
	// LibvirtURI is the libvirtd whose qemu runs the guests.
	LibvirtURI string
	// HeartbeatStateDir holds the heartbeat daemon's configuration and
	// state (HostHeartbeat's state_dir).
	HeartbeatStateDir string
	// Timeout is the run's bound (DefaultTimeout when 0); each check's
	// budget is a share of it, so that a slow host (an emulated VM) can
	// give every check more time at once.
	Timeout time.Duration

	// ConnectCeph opens a session; MonHost reads mon_host without one.
	ConnectCeph CephConnector
	MonHost     func(ceph.Config) (string, error)
	// Resolver resolves monitor names (all A and AAAA records).
	Resolver ceph.Resolver
	// DialTCP opens TCP connections to the monitors.
	DialTCP func(ctx context.Context, network, addr string) (net.Conn, error)
	// DialLibvirt connects to libvirtd.
	DialLibvirt LibvirtDialer
	// NodeName asks Pacemaker for this node's name; ErrNoPacemaker when
	// the host has no Pacemaker.
	NodeName func(ctx context.Context) (string, error)
	// CIB returns the cluster's configuration as cibadmin --query prints
	// it (or a saved one, --cib); ErrNoPacemaker when the host has no
	// Pacemaker.
	CIB func(ctx context.Context) ([]byte, error)
	// HeartbeatOpener opens the heartbeat daemon's backends with its Ceph
	// settings.
	HeartbeatOpener func(ceph.Config) heartbeat.Opener
	// Now is the wall clock.
	Now func() time.Time

	base     context.Context
	selected map[string]bool
	mons     lazy[[]monProbe]
	session  lazy[CephSession]
	virt     lazy[libvirtInfo]
	mods     lazy[*moduleIndex]
}

// DefaultTimeout bounds a run: ten times what a healthy host needs.
const DefaultTimeout = 5 * time.Second

// Checks returns every check, in the order they are reported.
func (d *Doctor) Checks() []Check {
	c := func(name, family, doc string, budget time.Duration, run func(context.Context) Result) Check {
		return checkFunc{Info{Name: name, Family: family, Doc: doc, Budget: budget}, run}
	}
	timeout := d.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	// Checks that talk to daemons get most of the run, checks of local
	// files less: a hung one is then named while the others still finish.
	netBudget, localBudget := timeout*4/5, timeout*2/5
	return []Check{
		c("libvirt", "libvirt", "libvirtd answers at --libvirt-uri; which qemu it runs", netBudget, d.checkLibvirt),
		c("qemu-rbd", "qemu", "libvirt's qemu can open rbd: disks (rbd driver built in, or its module installed and matching)", netBudget, d.checkQemuRBD),
		c("qemu-img-rbd", "qemu", "qemu-img can open rbd: images", localBudget, d.checkQemuImgRBD),
		c("ceph-mon", "ceph", "every monitor address (all A/AAAA records of each name, msgr2 and msgr1) accepts a connection", netBudget, d.checkMonitors),
		c("cephx", "ceph", "the cephx user authenticates with its keyring and can read every pool of --pools", netBudget, d.checkCephx),
		c("krbd", "kernel", "the kernel rbd driver is loaded, built in, or installed and not blocked", localBudget, d.checkKRBD),
		c("krbd-features", "kernel", "the kernel rbd driver supports the features of every image in --pools", netBudget, d.checkKRBDFeatures),
		c("nbd", "kernel", "the nbd driver and rbd-nbd are there", localBudget, d.checkNBD),
		c("configfs", "o2cb", "configfs is mounted or can be", localBudget, d.checkConfigfs),
		c("ocfs2", "o2cb", "the ocfs2, ocfs2_stack_o2cb and ocfs2_dlmfs modules and ocfs2-tools are there", localBudget, d.checkOCFS2),
		c("o2cb-port", "o2cb", "the O2CB port (7777 or cluster.conf's) is free or held by o2net", localBudget, d.checkO2CBPort),
		c("clock", "clock", "this host's clock is within 0.05 s of the monitors'", netBudget, d.checkClock),
		c("node-name", "cluster", "Pacemaker's name for this node is the heartbeat daemon's, and its record is on every backend", netBudget, d.checkNodeName),
		c("systemd-order", "cluster", "systemd starts pacemaker.service after libvirtd (virtlockd, virtlogd), so that a shutdown stops Pacemaker first", localBudget, d.checkSystemdOrder),
		c("fence-timing", "cluster", "fence_kvmha devices have the time to prove a host dead, heartbeats have a watchdog, corosync's token + consensus < stonith-timeout", netBudget, d.checkFenceTiming),
	}
}

// Run runs the checks (a selection of Checks) and returns their results in
// order. Checks that need another one's subject (a Ceph session needs
// reachable monitors) skip, naming it, when that one runs too and would
// report the cause; alone, they report it themselves.
func (d *Doctor) Run(ctx context.Context, checks []Check) []Result {
	d.base = ctx
	d.selected = map[string]bool{}
	for _, c := range checks {
		d.selected[c.Info().Name] = true
	}
	results := RunChecks(ctx, checks)
	// A session some check abandoned mid-call knows it and stays open
	// (see ceph.Conn); the process ends soon anyway.
	if s, ok := d.session.ready(); ok {
		s.Close()
	}
	return results
}

// dependent is the verdict of a check that cannot go on because what it
// builds on failed: a skip that points to the check reporting the cause
// when that one runs, else the failure itself.
func (d *Doctor) dependent(cause string, r Result) Result {
	if d.selected[cause] {
		return skip("%s (see %s)", r.Detail, cause)
	}
	return r
}
