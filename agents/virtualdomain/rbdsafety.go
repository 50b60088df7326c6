package virtualdomain

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/kvmha/kvmha/agents/virtualdomain/cephapi"
	"github.com/kvmha/kvmha/internal/agentlog"
	"github.com/kvmha/kvmha/internal/deadline"
	"github.com/kvmha/kvmha/internal/ocf"
)

// How long start waits for holders to go away before refusing. A client
// that died without closing its image keeps its watch until the OSDs time
// it out (osd_client_watch_timeout, 30 s by default); a live one stays.
const (
	maxHolderWait   = 40 * time.Second
	holderRecheck   = 2 * time.Second
	minStartReserve = 2 * time.Second
)

// checkRBDSafety refuses to start the domain while any of its RBD images
// does not exist or is held (watched or locked) by a client the OSDs still
// accept. The domain is not running here, so every such holder is a qemu
// (or another client) that could be writing to the disk: starting would
// open it twice. Holders the blocklist fences are ignored: they cannot
// write. Read-only and shareable disks are not checked.
func (v *vd) checkRBDSafety(ctx context.Context, req *ocf.Request, s settings, h hypervisor, cfg *domainConfig) error {
	disks, err := v.rbdDisks(ctx, req, h, cfg)
	if err != nil {
		return err
	}
	var checked []rbdDisk
	for _, d := range disks {
		if d.ReadOnly || d.Shareable {
			req.Log.Infof("RBD image %s (%s) is read-only or shareable: not checking its holders", d.Spec(), d.Target)
			continue
		}
		checked = append(checked, d)
	}
	if len(checked) == 0 {
		return nil
	}
	inspectors, err := v.openInspectors(ctx, s, checked)
	if err != nil {
		return err
	}
	defer closeAll(inspectors)

	waitCtx, cancel := earlier(ctx, reserveFor(ctx, minStartReserve, 10*time.Second))
	defer cancel()
	waitCtx, cancelWait := context.WithTimeout(waitCtx, maxHolderWait)
	defer cancelWait()
	announced := false
	for {
		blocking, err := v.liveHolders(ctx, req, s, checked, inspectors)
		if err != nil {
			return err
		}
		if len(blocking) == 0 {
			return nil
		}
		if !announced {
			req.Log.Warnf("%s; waiting up to %s for it to go away", blocking[0], maxHolderWait)
			announced = true
		}
		if deadline.Sleep(waitCtx, holderRecheck) != nil {
			// The first holder leads: Pacemaker keeps 128 bytes of the reason.
			return ocf.Errorf(ocf.ErrGeneric, "%s; refusing to start domain %s", strings.Join(blocking, "; "), cfg.Name)
		}
	}
}

// liveHolders inspects every image and describes each live holder.
func (v *vd) liveHolders(ctx context.Context, req *ocf.Request, s settings, disks []rbdDisk, inspectors map[string]cephapi.Inspector) ([]string, error) {
	local := v.localIPs(req)
	var blocking []string
	for _, d := range disks {
		img := cephapi.Image{Pool: d.Pool, Namespace: d.Namespace, Name: d.Image}
		st, err := inspectors[accessKey(v.cephAccessFor(s, d))].Inspect(ctx, img)
		if err != nil {
			return nil, ocf.Errorf(ocf.ErrGeneric, "cannot check who holds RBD image %s: %v; refusing to start", img, err)
		}
		if !st.Exists {
			return nil, ocf.Errorf(ocf.ErrGeneric, "RBD image %s (disk %s) does not exist", img, d.Target)
		}
		if st.BlocklistUnknown != nil && len(st.Holders) > 0 {
			req.Log.Warnf("cannot read the OSD blocklist (%v): holders of %s count as live", st.BlocklistUnknown, img)
		}
		for _, hd := range st.Holders {
			where := "another host"
			if local[hd.IP.Unmap()] {
				where = "this node"
			}
			if hd.Blocklisted {
				req.Log.Infof("RBD image %s: %s %s at %s is blocklisted: ignoring it", img, hd.Kind, hd.Client, hd.Address)
				continue
			}
			if where == "this node" && hd.Kind == "locker" && !watches(st.Holders, hd.Address) {
				fenced, err := v.fenceDeadLocalLocker(ctx, req, inspectors[accessKey(v.cephAccessFor(s, d))], img, hd)
				if err != nil {
					return nil, err
				}
				if fenced {
					continue
				}
				where += ", in use here"
			}
			blocking = append(blocking, fmt.Sprintf("RBD image %s held by %s at %s (%s, %s)",
				img, hd.Client, hd.Address, hd.Kind, where))
		}
	}
	return blocking, nil
}

// watches reports whether the client at address watches the image.
func watches(holders []cephapi.Holder, address string) bool {
	for _, h := range holders {
		if h.Kind == "watcher" && h.Address == address {
			return true
		}
	}
	return false
}

// fenceDeadLocalLocker fences a lock owner of this node that watches the image no more,
// when nothing on this node uses the image: that client is dead (see imageusers.go). It
// reports whether it fenced it.
func (v *vd) fenceDeadLocalLocker(ctx context.Context, req *ocf.Request, in cephapi.Inspector, img cephapi.Image, hd cephapi.Holder) (bool, error) {
	users, err := v.imageUsers(img)
	if err != nil {
		return false, ocf.Errorf(ocf.ErrGeneric, "RBD image %s is locked by %s at %s of this node, and what uses it here cannot be read: %v",
			img, hd.Client, hd.Address, err)
	}
	if len(users) > 0 {
		req.Log.Warnf("RBD image %s is locked by %s at %s of this node, which %s uses", img, hd.Client, hd.Address, strings.Join(users, ", "))
		return false, nil
	}
	if err := in.FenceClient(ctx, hd.Address); err != nil {
		return false, ocf.Errorf(ocf.ErrGeneric, "RBD image %s keeps the lock of %s at %s, a dead client of this node, which could not be blocklisted: %v",
			img, hd.Client, hd.Address, err)
	}
	req.Log.Warnf("RBD image %s was locked by %s at %s, a client of this node that is gone (no watch, nothing here uses the image): blocklisted that instance so its lock can be broken",
		img, hd.Client, hd.Address)
	return true, nil
}

// checkLocalHolder is the depth-20 monitor: this node must hold every
// writable RBD disk of the running domain.
func (v *vd) checkLocalHolder(ctx context.Context, req *ocf.Request, s settings, h hypervisor, cfg *domainConfig) error {
	disks, err := v.rbdDisks(ctx, req, h, cfg)
	if err != nil || len(disks) == 0 {
		return err
	}
	// librados would block on a FIFO or a hung mount (validate checks
	// these files only for the actions that always read them).
	if err := checkCephFiles(ctx, s); err != nil {
		return ocf.Errorf(ocf.ErrGeneric, "%v", err)
	}
	inspectors, err := v.openInspectors(ctx, s, disks)
	if err != nil {
		// Not ErrInstalled: a recurring monitor reports a failure, not a ban.
		return ocf.Errorf(ocf.ErrGeneric, "%v", err)
	}
	defer closeAll(inspectors)
	local := v.localIPs(req)
	for _, d := range disks {
		img := cephapi.Image{Pool: d.Pool, Namespace: d.Namespace, Name: d.Image}
		st, err := inspectors[accessKey(v.cephAccessFor(s, d))].Inspect(ctx, img)
		if err != nil {
			return ocf.Errorf(ocf.ErrGeneric, "cannot check who holds RBD image %s: %v", img, err)
		}
		if !slices.ContainsFunc(st.Holders, func(hd cephapi.Holder) bool {
			return hd.Kind == "watcher" && local[hd.IP.Unmap()]
		}) {
			err := ocf.Errorf(ocf.ErrGeneric, "this node's qemu does not hold RBD image %s (disk %s) of domain %s", img, d.Target, cfg.Name)
			v.noteStorageLost(req, cfg.Name, fmt.Sprintf("no watch of RBD image %s", img))
			return err
		}
	}
	return nil
}

// rbdDisks lists the domain's RBD disks, including volumes of libvirt
// storage pools of type rbd.
func (v *vd) rbdDisks(ctx context.Context, req *ocf.Request, h hypervisor, cfg *domainConfig) ([]rbdDisk, error) {
	disks := slices.Clone(cfg.RBDDisks)
	pools := map[string]*rbdDisk{}
	for _, vol := range cfg.VolumeDisks {
		pool, seen := pools[vol.Pool]
		if !seen {
			xml, err := h.StoragePoolXML(ctx, vol.Pool)
			if err != nil {
				return nil, ocf.Errorf(ocf.ErrGeneric, "cannot read storage pool %s of disk %s: %v", vol.Pool, vol.Target, err)
			}
			pool, err = parseRBDPoolXML([]byte(xml))
			if err != nil {
				return nil, ocf.Errorf(ocf.ErrGeneric, "storage pool %s: %v", vol.Pool, err)
			}
			pools[vol.Pool] = pool
		}
		if pool == nil {
			continue // not an RBD pool
		}
		d := *pool
		d.Image, d.Target = vol.Volume, vol.Target
		disks = append(disks, d)
	}
	return disks, nil
}

// cephAccessFor derives how to reach the cluster of one disk: parameters
// first, then what the domain XML says, then /etc/ceph.
func (v *vd) cephAccessFor(s settings, d rbdDisk) cephapi.Access {
	a := cephapi.Access{ConfPath: s.cephConf, User: s.cephUser, Keyring: s.cephKeyring}
	if a.ConfPath == "" && v.defaultCephConf != "" && fileExists(v.defaultCephConf) {
		a.ConfPath = v.defaultCephConf
	}
	if a.User == "" {
		a.User = d.AuthUser
	}
	if s.cephMonHost != "" {
		a.MonHosts = []string{s.cephMonHost}
	} else {
		for _, m := range d.Hosts {
			a.MonHosts = append(a.MonHosts, monHostEntry(m))
		}
	}
	return a
}

// monHostEntry writes a <host> as a mon_host entry; a name is resolved to
// all its addresses by the Ceph side.
func monHostEntry(m monHost) string {
	if m.Port == "" {
		return m.Name
	}
	return net.JoinHostPort(m.Name, m.Port)
}

func accessKey(a cephapi.Access) string {
	return strings.Join(append([]string{a.ConfPath, a.User, a.Keyring}, a.MonHosts...), "\x00")
}

// openInspectors opens one Ceph session per distinct access.
func (v *vd) openInspectors(ctx context.Context, s settings, disks []rbdDisk) (map[string]cephapi.Inspector, error) {
	out := map[string]cephapi.Inspector{}
	for _, d := range disks {
		a := v.cephAccessFor(s, d)
		key := accessKey(a)
		if out[key] != nil {
			continue
		}
		insp, err := v.openCeph(ctx, a)
		if errors.Is(err, errNoCeph) {
			closeAll(out)
			return nil, ocf.Errorf(ocf.ErrInstalled, "cannot check RBD image %s: %v", d.Spec(), err)
		}
		if err != nil {
			closeAll(out)
			return nil, ocf.Errorf(ocf.ErrGeneric, "cannot check RBD image %s: Ceph (client.%s) unreachable: %v", d.Spec(), agentlog.Clip(a.User), err)
		}
		out[key] = insp
	}
	return out, nil
}

func closeAll(m map[string]cephapi.Inspector) {
	for _, i := range m {
		i.Close()
	}
}

// localIPs is the set of this node's addresses (empty when unknown).
func (v *vd) localIPs(req *ocf.Request) map[netip.Addr]bool {
	set, err := v.localAddrSet()
	if err != nil {
		req.Log.Debugf("cannot list this node's addresses: %v", err)
	}
	return set
}
