package virtualdomain

import (
	"context"
	"time"

	"github.com/kvmha/kvmha/agents/virtualdomain/cephapi"
	"github.com/kvmha/kvmha/internal/deadline"
	"github.com/kvmha/kvmha/internal/ocf"
)

// After a destroy, the qemu that was killed may leave its hold on the guest's RBD images
// behind: SIGKILL (libvirt's last resort, and the agent's own) leaves the image's exclusive
// lock with the dead client, and its watch until the OSDs time it out
// (osd_client_watch_timeout, 30 s). Another host cannot tell such an owner from a live one,
// so its start would refuse for good (a lock) or wait (a watch). This node can: once the
// domain is stopped and nothing here uses an image, a client of this node that still
// holds it is the dead qemu. Stop fences exactly those client instances, so the guest
// starts at once wherever Pacemaker puts it next (found by the fault campaign: a guest
// destroyed on storage that hung was refused on the next node, and only started again
// once Pacemaker tried its old node, two minutes later).

// maxReleaseTime bounds the release; it never takes more than half the stop's time left.
const maxReleaseTime = 10 * time.Second

// releaseAfterDestroy fences the clients of this node that still hold the writable RBD
// images of domain t, just destroyed, when nothing on this node uses those images. Best
// effort: what cannot be done is a warning, the stop has succeeded. h is nil when the
// qemu was killed without libvirtd, which then cannot name the images of storage-pool
// volumes: only the disks the domain XML names as RBD are released.
func (v *vd) releaseAfterDestroy(ctx context.Context, req *ocf.Request, s settings, h hypervisor, t target) {
	if t.file == nil || v.whyNotLocal(t) != "" {
		return // the disks are unknown, or the qemu was not this host's
	}
	rctx, cancel := context.WithTimeout(ctx, min(deadline.Remaining(ctx)/2, maxReleaseTime))
	defer cancel()
	disks := t.file.cfg.RBDDisks
	if h != nil {
		var err error
		if disks, err = v.rbdDisks(rctx, req, h, t.file.cfg); err != nil {
			return
		}
	}
	if len(disks) == 0 {
		return
	}
	var writable []rbdDisk
	for _, d := range disks {
		if !d.ReadOnly && !d.Shareable {
			writable = append(writable, d)
		}
	}
	if len(writable) == 0 {
		return
	}
	inspectors, err := v.openInspectors(rctx, s, writable)
	if err != nil {
		req.Log.Warnf("domain %s destroyed; cannot check whether its qemu left holds on its RBD images: %v", t.name, err)
		return
	}
	defer closeAll(inspectors)
	local := v.localIPs(req)
	fenced := map[string]bool{}
	for _, d := range writable {
		img := cephapi.Image{Pool: d.Pool, Namespace: d.Namespace, Name: d.Image}
		in := inspectors[accessKey(v.cephAccessFor(s, d))]
		st, err := in.Inspect(rctx, img)
		if err != nil {
			req.Log.Warnf("domain %s destroyed; cannot check who holds RBD image %s: %v", t.name, img, err)
			continue
		}
		var left []cephapi.Holder
		for _, hd := range st.Holders {
			if local[hd.IP.Unmap()] && !hd.Blocklisted && !fenced[hd.Address] {
				left = append(left, hd)
			}
		}
		if len(left) == 0 {
			continue
		}
		if users, err := v.imageUsers(img); err != nil || len(users) > 0 {
			continue // something here still uses the image (or we cannot tell): not ours to fence
		}
		for _, hd := range left {
			if err := in.FenceClient(rctx, hd.Address); err != nil {
				req.Log.Warnf("domain %s destroyed; RBD image %s is still held by %s at %s, which could not be blocklisted: %v",
					t.name, img, hd.Client, hd.Address, err)
				continue
			}
			fenced[hd.Address] = true
			req.Log.Infof("domain %s destroyed; its qemu's %s of RBD image %s (%s at %s) blocklisted, so the guest can start elsewhere at once",
				t.name, hd.Kind, img, hd.Client, hd.Address)
		}
	}
}
