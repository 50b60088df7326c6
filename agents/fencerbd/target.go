package fencerbd

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/kvmha/kvmha/internal/agentlog"

	"github.com/kvmha/kvmha/internal/ceph"
	"github.com/kvmha/kvmha/internal/fence"
	"github.com/kvmha/kvmha/internal/heartbeat"
)

// checkPlug tells whether the plug can name a target, without reading
// anything: a node of hosts, a list of addresses, or with heartbeat
// backends any node name (the node may be known by its record only).
func (s settings) checkPlug(plug string) error {
	_, err := s.hosts.resolveTarget(plug)
	if err == nil || len(s.heartbeat) == 0 {
		return err
	}
	if !heartbeat.ValidNodeName(plug) {
		return fmt.Errorf("plug %q is neither a node name nor a list of addresses", agentlog.Clip(plug))
	}
	return nil
}

// byName reports whether the plug names a node whose heartbeat record is
// read: with heartbeat backends, a node of hosts or a node name that is not
// a list of addresses.
func (s settings) byName(plug string) bool {
	if len(s.heartbeat) == 0 {
		return false
	}
	if _, ok := s.hosts.addrs[plug]; ok {
		return true
	}
	if _, err := parseAddrList(plug); err == nil {
		return false
	}
	return heartbeat.ValidNodeName(plug)
}

// resolve finds the addresses of plug once per run: status, off and on of
// one run must agree on them.
func (f *fencer) resolve(ctx context.Context, r *fence.Request, s settings, d *dialing, plug string) (target, error) {
	f.mu.Lock()
	t, ok := f.targets[plug]
	f.mu.Unlock()
	if ok {
		return t, nil
	}
	t, err := f.lookup(ctx, r, s, d, plug)
	if err != nil {
		return t, err
	}
	f.mu.Lock()
	if f.targets == nil {
		f.targets = map[string]target{}
	}
	f.targets[plug] = t
	f.mu.Unlock()
	return t, nil
}

// lookup resolves plug: its hosts entry, plus with heartbeat backends the
// addresses in its newest heartbeat record. The record is read while the
// connection d is being made; when it cannot be read, a node of hosts is
// fenced by its hosts entry alone.
//
// Unfencing ("on", and the status around it) runs on the target itself,
// often from a blocklisted address that cannot read a rados:// record, and
// before the node's heartbeat runs again: it never fails for want of a
// record, and adds the entries fence_rbd recorded for the node, so that
// status sees what "on" is about to remove.
func (f *fencer) lookup(ctx context.Context, r *fence.Request, s settings, d *dialing, plug string) (target, error) {
	if !s.byName(plug) {
		return s.hosts.resolveTarget(plug)
	}
	hostAddrs, inHosts := s.hosts.addrs[plug]
	t := target{name: plug, addrs: slices.Clone(hostAddrs)}
	unfencing := r.Action == fence.ActionOn
	rec, err := f.readRecord(ctx, r, s, plug)
	switch {
	case err != nil && unfencing:
		r.Log.Infof("could not read the heartbeat record of %s: %v", plug, err)
	case err != nil && inHosts:
		r.Log.Warnf("could not read the heartbeat record of %s, using its hosts entry alone (%s): %v", plug, joinPrefixes(t), err)
	case err != nil:
		return t, fmt.Errorf("node %q is not in hosts%s, and its heartbeat record could not be read: %v", plug, knownHosts(s), err)
	case rec == nil && !inHosts && !unfencing:
		return t, fmt.Errorf("node %q is neither in hosts%s nor registered with a heartbeat record on %s", plug, knownHosts(s), backendList(s))
	}
	if rec != nil {
		ips, err := f.safeRecordIPs(ctx, r, s, d, plug, rec, unfencing)
		if err != nil {
			r.Log.Warnf("not using the addresses in the heartbeat record of %s: %v", plug, err)
		}
		t.addrs = addIPs(t.addrs, ips)
	}
	if unfencing {
		es, err := f.recordedEntries(ctx, d, plug)
		if err != nil {
			return t, err
		}
		t.addrs = addEntries(t.addrs, es)
	}
	if len(t.addrs) == 0 && !unfencing {
		return t, fmt.Errorf("node %q is not in hosts%s, and its heartbeat record holds no address fence_rbd may blocklist", plug, knownHosts(s))
	}
	return t, nil
}

// safeRecordIPs returns the record's addresses that pass the guard, and
// logs the others (a warning when they might have been blocklisted).
func (f *fencer) safeRecordIPs(ctx context.Context, r *fence.Request, s settings, d *dialing, node string, rec *heartbeat.Record, unfencing bool) ([]netip.Addr, error) {
	c, err := d.wait(ctx)
	if err != nil {
		return nil, err
	}
	g, err := f.newAddrGuard(ctx, s, c, node, unfencing)
	if err != nil {
		return nil, err
	}
	ips, skipped := g.recordIPs(rec.Addrs)
	if len(skipped) > 0 {
		logf := r.Log.Warnf
		if unfencing {
			logf = r.Log.Infof
		}
		logf("heartbeat record of %s: not blocklisting %s", node, strings.Join(skipped, ", "))
	}
	if len(rec.Addrs) == 0 {
		r.Log.Infof("the heartbeat record of %s holds no Ceph address (its heartbeat has no rados:// backend?)", node)
	}
	return ips, nil
}

// recordedEntries are the blocklist entries fence_rbd recorded for target.
func (f *fencer) recordedEntries(ctx context.Context, d *dialing, target string) ([]ceph.BlocklistEntry, error) {
	c, err := d.wait(ctx)
	if err != nil {
		return nil, err
	}
	key := recordKey(target)
	data, err := c.ConfigKeyGet(ctx, key)
	switch {
	case ceph.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("reading the record of %s: %w", target, err)
	}
	_, es, err := decodeRecord(data)
	if err != nil {
		return nil, fmt.Errorf("config-key %s: %w; remove the entries by hand (ceph osd blocklist rm), then the key", key, err)
	}
	return es, nil
}

// addIPs adds single-address networks for ips that no network in ps
// holds yet.
func addIPs(ps []netip.Prefix, ips []netip.Addr) []netip.Prefix {
	for _, ip := range ips {
		if !containsIP(ps, ip) {
			ps = append(ps, netip.PrefixFrom(ip, ip.BitLen()))
		}
	}
	return ps
}

// addEntries adds what blocklist entries block, as networks.
func addEntries(ps []netip.Prefix, es []ceph.BlocklistEntry) []netip.Prefix {
	for _, e := range es {
		switch {
		case e.IsRange():
			if !slices.Contains(ps, e.Range) {
				ps = append(ps, e.Range)
			}
		default:
			ps = addIPs(ps, []netip.Addr{e.Addr.IP.Unmap()})
		}
	}
	return ps
}

func containsIP(ps []netip.Prefix, ip netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// knownHosts completes "not in hosts" for messages.
func knownHosts(s settings) string { return s.hosts.known() }
