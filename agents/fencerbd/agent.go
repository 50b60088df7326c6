// Package fencerbd is fence_rbd: fabric fencing of Ceph clients. It fences a
// node by adding its client addresses to the OSD blocklist, so the OSDs
// refuse every read and write of every Ceph client on that node (librbd in
// qemu, krbd, rbd-nbd) from the moment they have the new osdmap, whether the
// node is dead, half dead or about to come back. "on" (unfencing) removes
// exactly the entries fence_rbd added for that node.
package fencerbd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"sync"

	"github.com/kvmha/kvmha/internal/agentlog"
	"github.com/kvmha/kvmha/internal/ceph"
	"github.com/kvmha/kvmha/internal/fence"
)

// Option names.
const (
	optHosts     = "hosts"
	optHeartbeat = "heartbeat"
	optConf      = "ceph_conf"
	optUser      = "ceph_user"
	optKeyring   = "ceph_keyring"
	optMonHost   = "mon_host"
	optPools     = "pools"
	optExpire    = "expire"
	defaultConf  = "/etc/ceph/ceph.conf"
)

const longDesc = `fence_rbd fences Ceph RBD clients at the storage, the way fence_scsi does with SCSI reservations: "off" adds every Ceph client address of the node to the OSD blocklist (one ip:0/0 entry per address, which blocks every client session from that IP; a range entry for a network written in CIDR, on clusters that support range blocklists), waits until this client has the newest osdmap (so any later write by anyone reaches the OSDs only after they know the blocklist), then reads the blocklist back to verify. The node's qemu, krbd and rbd-nbd clients get EBLOCKLISTED for every I/O from then on, whether the node is dead or still running. While fencing, watchers and lock owners of the images in "pools" whose address belongs to the node are listed, checked against the new blocklist, and recorded.

The node's addresses come from "hosts" (node1=10.0.0.1,10.0.1.1;node2=10.0.0.2 — ';' or spaces between nodes, '=' or ':' after the name, ',' between addresses; IPv6 with or without brackets; CIDR networks). The plug may also be the address list itself, for pcmk_host_map="node1:10.0.0.1;node2:10.0.0.2". Use the addresses the node's Ceph clients connect from (its public-network addresses), never an address a Ceph daemon of another node or the fencing node itself uses: validate-all and every action refuse a hosts entry or an address plug that covers everyone (0.0.0.0/0, ::/0), loopback, an unspecified, multicast or broadcast address, a monitor, the host running fence_rbd, or another node's entry.

With "heartbeat" (the backends of ocf:kvmha:HostHeartbeat, written as in its "backends": rados://pool[/namespace] file:///dir block:///dev/device), fence_rbd also reads the node's newest heartbeat record, in which the node's heartbeat daemon publishes the addresses of its own RADOS session as the cluster sees them, and blocklists every IP found there (ip:0/0) as well as the node's hosts entry. A node the heartbeat knows needs no hosts entry, and "list" includes the nodes registered on the backends. The record is read while fence_rbd connects to the cluster, for at most 3 seconds (a quarter of the action's time when that is shorter): when it cannot be read, a node of hosts is fenced by its hosts entry alone, with a warning, and any other node is not fenced (the action fails and says why). Records are checked like every heartbeat read (checksum, size limits, node name); even so a record never makes fence_rbd blocklist a loopback, unspecified, multicast or broadcast address, an address of the host running fence_rbd, a monitor's address (from mon_host or the configuration file) or an address hosts gives to another node: such addresses are skipped with a warning. "status" looks at the same addresses; "on" removes what fence_rbd recorded, as always.

"on" unfences: it removes exactly the entries fence_rbd added for the node, which it records in the monitors' config-key store under kvmha/fence_rbd/<node> before adding them, then deletes the record. Both need the monitors only: unfencing runs on the node itself, whose address is still blocklisted then, and fencing never waits for a pool. Entries someone else added stay; if they still block the node, "on" fails and names them. Before it removes the node's entries, "on" blocklists, one by one and for 30 days (or "expire" when shorter), the client instances fencing found holding images of "pools": they belong to the fenced incarnation of the node, and a dead one's exclusive lock stays on its image until someone breaks it, which librbd and ocf:kvmha:VirtualDomain do only for a blocklisted owner. So a node that rejoins before its guests were restarted elsewhere does not leave their locks held by a client nobody may break. Such an entry blocks that one client instance, never the node's new ones. "status" is OFF when every address of the node is blocklisted, ON when none is. When no monitor accepts a connection, "off", "reboot" and "on" keep trying for up to 10 seconds (never more than half their timeout), as a restarting monitor needs; "status", "list", "monitor" and validate-all fail at once and name every monitor address and why. Configure the device with meta provides=unfencing (pcs stonith create ... meta provides=unfencing): Pacemaker then runs "on" on each node when it joins, before it starts resources. Entries last "expire" (default 10 years) so that a fenced node stays fenced until it is unfenced.

The cephx user needs mon 'allow r, allow command "osd blocklist", allow command "config-key get" with key prefix kvmha/fence_rbd/, allow command "config-key set" with key prefix kvmha/fence_rbd/, allow command "config-key rm" with key prefix kvmha/fence_rbd/' and, for the holder check, osd 'profile rbd-read-only pool=POOL' for each pool. For rados:// heartbeat backends it reads the records through the same session and needs osd 'allow r pool=POOL namespace=NAMESPACE' for each (the rbd-read-only profile of that pool covers every namespace of it). The key is read from the keyring file by librados; it is never passed on a command line.`

// New returns the fence_rbd agent.
func New() *fence.Agent { return newAgent(productionDeps()) }

// newAgent returns the agent on d.
func newAgent(d deps) *fence.Agent { return (&fencer{deps: d}).agent() }

func (f *fencer) agent() *fence.Agent {
	return &fence.Agent{
		Name:            "fence_rbd",
		ShortDesc:       "Fence agent for Ceph RBD clients (OSD blocklist)",
		LongDesc:        longDesc,
		VendorURL:       "https://github.com/kvmha/kvmha",
		Version:         version,
		PlugDescription: "Node to fence: a node name from hosts or from the heartbeat records, or its client addresses (10.0.0.1,10.0.1.1)",
		Unfencing:       true,
		Options: []fence.Option{
			{Name: optHosts, Type: fence.String, Placeholder: "map",
				Description: "Node names and the addresses (or CIDR networks) their Ceph clients use: node1=10.0.0.1,10.0.1.1;node2=10.0.0.2"},
			{Name: optHeartbeat, Type: fence.String, Placeholder: "uris",
				Description: "HostHeartbeat's backends (rados://pool[/namespace] file:///dir block:///dev/device): the addresses in a node's heartbeat record are blocklisted too"},
			{Name: optConf, Type: fence.String, Default: defaultConf, Placeholder: "path",
				Description: "Ceph configuration file (skipped when absent and mon_host is set)"},
			{Name: optUser, Type: fence.String, Default: "admin", Placeholder: "id",
				Description: "cephx user id, without client."},
			{Name: optKeyring, Type: fence.String, Placeholder: "path",
				Description: "Keyring file with the user's key (default: librados' search path)"},
			{Name: optMonHost, Type: fence.String, Placeholder: "addrs",
				Description: "Monitor addresses or DNS names (every address of a name is tried); overrides the configuration file"},
			{Name: optPools, Type: fence.String, Default: "rbd", Placeholder: "pool[/namespace],...",
				Description: "Pools whose images' watchers and lockers are listed and checked while fencing, or none"},
			{Name: optExpire, Type: fence.String, Default: "10y", Placeholder: "duration",
				Description: "How long blocklist entries last: seconds, or a number with s, m, h, d, w or y"},
		},
		Status:   f.status,
		Off:      f.off,
		On:       f.on,
		List:     f.list,
		Monitor:  f.monitor,
		Validate: f.validate,
	}
}

// version is the agent's version string; the build may override it.
var version = "0.1"

// validate checks the options; it runs before every device action. Files
// are read bounded before librados reads them; hosts and an address-list
// plug pass the address guard (see rangeguard.go).
func (f *fencer) validate(ctx context.Context, r *fence.Request) error {
	s, err := readSettings(r)
	if err != nil {
		return err
	}
	if err := checkFiles(ctx, r, s); err != nil {
		return err
	}
	fencing := fencingAction(r.Action) && r.Plug != ""
	g := f.configGuard(ctx, r, s, fencing)
	if err := g.checkHosts(f.hostName(s.hosts)); err != nil {
		return err
	}
	if r.Plug == "" {
		return nil
	}
	if err := s.checkPlug(r.Plug); err != nil {
		return err
	}
	if t, err := s.hosts.resolveTarget(r.Plug); err == nil {
		_, named := s.hosts.addrs[r.Plug]
		g.target = t.name
		if err := g.checkTarget(t, !named); err != nil {
			return fmt.Errorf("plug %q: %w", agentlog.Clip(r.Plug), err)
		}
	}
	return nil
}

// checkFiles reads ceph_conf and ceph_keyring, bounded, before librados
// does (see ceph.CheckConfFile); a keyring others can read is a warning.
func checkFiles(ctx context.Context, r *fence.Request, s settings) error {
	if s.cfg.ConfPath == "" && len(s.cfg.MonHosts) == 0 {
		return errors.New("ceph_conf is empty and mon_host is not set: no monitor to connect to")
	}
	if p := s.cfg.ConfPath; p != "" {
		if err := ceph.CheckConfFile(ctx, p); err != nil {
			if !r.Values.IsSet(optConf) && len(s.cfg.MonHosts) == 0 {
				return fmt.Errorf("ceph_conf: %w (set ceph_conf, or mon_host)", err)
			}
			return fmt.Errorf("ceph_conf: %w", err)
		}
	}
	if k := s.cfg.Keyring; k != "" {
		if err := ceph.CheckKeyringFile(ctx, k); err != nil {
			return fmt.Errorf("ceph_keyring: %w", err)
		}
		if fi, err := os.Stat(k); err == nil && fi.Mode().Perm()&0o077 != 0 {
			r.Log.Warnf("ceph_keyring %s can be read by others than its owner (mode %04o)", agentlog.Clip(k), fi.Mode().Perm())
		}
	}
	return nil
}

// list prints the nodes of the hosts option and those registered on the
// heartbeat backends; list-status adds their state.
func (f *fencer) list(ctx context.Context, r *fence.Request) ([]fence.Plug, error) {
	s, err := readSettings(r)
	if err != nil {
		return nil, err
	}
	names := append([]string(nil), s.hosts.names...)
	if len(s.heartbeat) > 0 {
		hosts, errs := f.heartbeatHosts(ctx, s)
		if len(errs) > 0 && len(errs) == len(s.heartbeat) && len(names) == 0 {
			return nil, fmt.Errorf("listing the heartbeat backends: %s", agentlog.JoinErrors(errs...))
		}
		for _, e := range errs {
			r.Log.Warnf("listing the heartbeat backends: %v", e)
		}
		for _, h := range hosts {
			if !slices.Contains(names, h) {
				names = append(names, h)
			}
		}
	}
	sort.Strings(names)
	plugs := make([]fence.Plug, 0, len(names))
	for _, n := range names {
		plugs = append(plugs, fence.Plug{ID: n})
	}
	if r.Action != fence.ActionListStatus || len(plugs) == 0 {
		return plugs, nil
	}
	d := f.startConnect(ctx, s)
	c, err := d.wait(ctx)
	if err != nil {
		return nil, err
	}
	bl, err := c.Blocklist(ctx)
	if err != nil {
		return nil, err
	}
	// Each node's record is read at the same time: a hung backend costs
	// one bounded wait, not one per node.
	var wg sync.WaitGroup
	for i := range plugs {
		wg.Go(func() {
			t, err := f.resolve(ctx, r, s, d, plugs[i].ID)
			if err != nil {
				r.Log.Warnf("%v", err)
				return
			}
			plugs[i].State, _ = coverage(t, bl)
		})
	}
	wg.Wait()
	return plugs, nil
}

// monitor checks that the cluster answers the blocklist query, and warns
// about heartbeat backends that cannot be listed: fencing still works by
// hosts, but nodes known by their records only would not be fenced.
func (f *fencer) monitor(ctx context.Context, r *fence.Request) error {
	s, err := readSettings(r)
	if err != nil {
		return err
	}
	c, err := f.connect(ctx, s)
	if err != nil {
		return err
	}
	bl, err := c.Blocklist(ctx)
	if err != nil {
		return err
	}
	r.Log.Debugf("the cluster answers: %d blocklist entries", len(bl))
	if len(s.heartbeat) > 0 {
		hosts, errs := f.heartbeatHosts(ctx, s)
		for _, e := range errs {
			r.Log.Warnf("heartbeat backend: %v", e)
		}
		r.Log.Debugf("%d nodes registered on the heartbeat backends", len(hosts))
	}
	return nil
}
