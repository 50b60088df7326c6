package fencerbd

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/kvmha/kvmha/internal/agentlog"

	"github.com/kvmha/kvmha/internal/ceph"
	"github.com/kvmha/kvmha/internal/fence"
	"github.com/kvmha/kvmha/internal/heartbeat"
)

// settings are the options of one run, parsed.
type settings struct {
	cfg   ceph.Config
	hosts hostMap
	// heartbeat are HostHeartbeat's backends, where the nodes' records
	// (and in them their Ceph client addresses) are; none when empty.
	heartbeat []heartbeat.Spec
	pools     []poolRef
	expire    time.Duration
	// expireText is expire as the operator wrote it, for messages.
	expireText string
}

// poolRef is a pool and an optional RADOS namespace.
type poolRef struct{ pool, namespace string }

func (p poolRef) String() string {
	if p.namespace == "" {
		return p.pool
	}
	return p.pool + "/" + p.namespace
}

// Ceph pool and namespace names: printable, no '/' (rbd's separator).
var poolNameRE = regexp.MustCompile(`^[A-Za-z0-9_.-][A-Za-z0-9_.+-]{0,127}$`)

// cephx ids as ceph auth accepts them.
var cephIDRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)

// parsePools reads "rbd,vms/ns1"; "none" checks no pool.
func parsePools(s string) ([]poolRef, error) {
	if strings.TrimSpace(s) == "none" {
		return nil, nil
	}
	var out []poolRef
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		pool, ns, _ := strings.Cut(item, "/")
		if !poolNameRE.MatchString(pool) || (ns != "" && !poolNameRE.MatchString(ns)) {
			return nil, fmt.Errorf("pools: %q is not pool or pool/namespace", agentlog.Clip(item))
		}
		out = append(out, poolRef{pool, ns})
	}
	return out, nil
}

func readSettings(r *fence.Request) (settings, error) {
	v := r.Values
	var s settings
	var err error
	if s.hosts, err = parseHosts(v.Get(optHosts)); err != nil {
		return s, err
	}
	if hb := strings.TrimSpace(v.Get(optHeartbeat)); hb != "" {
		if s.heartbeat, err = heartbeat.ParseBackends(hb); err != nil {
			return s, fmt.Errorf("heartbeat: %w", err)
		}
	}
	if s.pools, err = parsePools(v.Get(optPools)); err != nil {
		return s, err
	}
	s.expireText = strings.TrimSpace(v.Get(optExpire))
	if s.expire, err = parseExpire(s.expireText); err != nil {
		return s, err
	}
	s.cfg = ceph.Config{
		ConfPath: v.Get(optConf),
		User:     strings.TrimPrefix(v.Get(optUser), "client."),
		Keyring:  v.Get(optKeyring),
	}
	if !changesFencing(r.Action) {
		// A query (status, list, monitor, validate-all) is asked again soon: a cluster
		// whose monitors all refuse is answered at once. Fencing and unfencing wait
		// a while for a restarting monitor.
		s.cfg.ProbePatience = -1
	}
	if mh := strings.TrimSpace(v.Get(optMonHost)); mh != "" {
		s.cfg.MonHosts = []string{mh}
		if err := ceph.CheckMonHost(mh); err != nil {
			return s, fmt.Errorf("mon_host: %w", err)
		}
		// Without its own configuration file, mon_host is enough.
		if _, err := os.Stat(s.cfg.ConfPath); err != nil && !v.IsSet(optConf) {
			s.cfg.ConfPath = ""
		}
	}
	if !cephIDRE.MatchString(s.cfg.User) {
		return s, fmt.Errorf("ceph_user %q is not a cephx id", agentlog.Clip(s.cfg.User))
	}
	return s, nil
}
