package rbd

import (
	"context"
	"errors"
	"os"

	"github.com/kvmha/kvmha/internal/agentlog"
	"github.com/kvmha/kvmha/internal/krbd"
	"github.com/kvmha/kvmha/internal/ocf"
)

// record is what start mapped on this node, kept in HA_RSCTMP (ocf.Request.SaveRecord).
// Pacemaker stops a resource with the parameters it has now, which may hold a typo made
// after start: then stop cannot use them, and unmaps what the record names instead,
// exactly that device and only while it still maps the recorded image. Start writes
// the record before it maps (Device empty: a map that outlives a timed-out start is
// still found by the image), then again with the device.
type record struct {
	Pool      string `json:"pool"`
	Namespace string `json:"namespace,omitempty"`
	Image     string `json:"image"`
	Snap      string `json:"snap,omitempty"`
	// Driver is krbd or nbd; Device the node, /dev/rbdN or /dev/nbdN ("" while mapping).
	Driver string `json:"driver"`
	Device string `json:"device,omitempty"`
	// krbd: the rbd bus id remove_single_major takes, and the cluster the image is in.
	ID          int    `json:"id"`
	ClusterFSID string `json:"cluster_fsid,omitempty"`
	// nbd: the device's index and the rbd-nbd process that served it.
	NBDIndex int `json:"nbd_index"`
	PID      int `json:"pid"`
}

func (r record) spec() krbd.Spec {
	return krbd.Spec{Pool: r.Pool, Namespace: r.Namespace, Image: r.Image, Snap: r.Snap}
}

// pendingRecord is the record of a map under way.
func pendingRecord(spec krbd.Spec, driver string) record {
	return record{Pool: spec.Pool, Namespace: spec.Namespace, Image: spec.Image, Snap: spec.Snap, Driver: driver}
}

// recordOf is the record of a mapping made (or found) by start.
func (a *agent) recordOf(spec krbd.Spec, m mapping) record {
	r := pendingRecord(spec, m.driver)
	r.Device = a.node(m)
	if m.driver == driverKRBD {
		r.ID, r.ClusterFSID = m.rbd.ID, m.rbd.ClusterFSID
	} else {
		r.NBDIndex, r.PID = m.nbd.Device.Index, m.nbd.Server.PID
	}
	return r
}

// saveRecord writes the record; start fails without it, since a later stop with unusable
// parameters would then leave the device mapped.
func saveRecord(req *ocf.Request, r record) error {
	if err := req.SaveRecord(r); err != nil {
		return ocf.Errorf(ocf.ErrGeneric, "cannot keep this node's record of the mapping (%s): %v", req.RecordPath(), err)
	}
	return nil
}

// stopRecorded is Agent.StopRecorded: the stop of a resource whose parameters cannot be
// used. It unmaps what the record names, with force_unmap at its default (the parameter
// cannot be trusted), and forgets the record.
func (a *agent) stopRecorded(ctx context.Context, req *ocf.Request) error {
	var rec record
	ok, err := req.LoadRecord(&rec)
	if err != nil {
		return ocf.Errorf(ocf.ErrGeneric, "cannot tell which device start mapped: %v", err)
	}
	if !ok {
		return nil
	}
	spec := rec.spec()
	if err := spec.Check(); err != nil {
		return ocf.Errorf(ocf.ErrGeneric, "this node's record of the mapping (%s) names no image: %v", req.RecordPath(), err)
	}
	if err := a.unmapRecorded(ctx, req, rec); err != nil {
		return err
	}
	return req.DropRecord()
}

// unmapRecorded unmaps the device the record names, if it still maps the recorded image.
func (a *agent) unmapRecorded(ctx context.Context, req *ocf.Request, rec record) error {
	s := settings{spec: rec.spec()}
	ms, err := a.recordedMappings(req, rec)
	if err != nil {
		return ocf.Errorf(ocf.ErrGeneric, "%s (recorded on %s): %v", s.describe(), rec.Device, err)
	}
	var nodes []string
	for _, m := range ms {
		if err := a.unmap(ctx, req, s, m); err != nil {
			return err
		}
		nodes = append(nodes, a.node(m))
		req.Log.Infof("unmapped %s from %s, as this node's record says start mapped it", s.describe(), m)
	}
	if len(ms) == 0 {
		req.Log.Infof("%s is no longer mapped on %s: nothing to unmap", s.describe(), orUnknown(rec.Device))
	}
	if err := a.tree.RemoveLink(s.spec, nodes...); err != nil {
		req.Log.Warnf("cannot remove %s: %v", a.tree.LinkPath(s.spec), err)
	}
	return nil
}

func orUnknown(dev string) string {
	if dev == "" {
		return "any device"
	}
	return dev
}

// recordedMappings is the device the record names, when it still maps the recorded image:
// a device number the kernel gave to another image since is left alone. A record written
// before the map finished names no device; then every device that maps the image counts,
// as for a stop by parameters.
func (a *agent) recordedMappings(req *ocf.Request, rec record) ([]mapping, error) {
	spec := rec.spec()
	switch {
	case rec.Device == "":
		return a.mappings(spec)
	case rec.Driver == driverKRBD:
		d, err := a.tree.ReadDevice(rec.ID)
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if d.Spec != spec || (rec.ClusterFSID != "" && d.ClusterFSID != rec.ClusterFSID) {
			req.Log.Warnf("%s now maps %s (cluster %s), not the recorded %s (cluster %s): leaving it mapped",
				rec.Device, d.Spec, d.ClusterFSID, spec, rec.ClusterFSID)
			return nil, nil
		}
		return []mapping{{driver: driverKRBD, rbd: d}}, nil
	case rec.Driver == driverNBD:
		devs, err := a.tree.NBDDevices()
		if err != nil {
			return nil, err
		}
		for _, d := range devs {
			if d.Index != rec.NBDIndex {
				continue
			}
			srv, err := a.tree.ReadNBDServer(d)
			if errors.Is(err, os.ErrNotExist) {
				return nil, nil // its server is gone: nothing serves the image there
			}
			if err != nil {
				return nil, err
			}
			if !srv.RBDNBD || srv.Spec != spec {
				req.Log.Warnf("%s is now served by process %d (%s), not by rbd-nbd for the recorded %s: leaving it",
					rec.Device, srv.PID, describeServer(srv), spec)
				return nil, nil
			}
			return []mapping{{driver: driverNBD, nbd: krbd.NBDMapping{Device: d, Server: srv}}}, nil
		}
		return nil, nil
	}
	return nil, errors.New("the record names no driver this agent knows")
}

func describeServer(s krbd.NBDServer) string {
	if s.RBDNBD {
		return "rbd-nbd for " + s.Spec.String()
	}
	if len(s.Args) > 0 {
		return agentlog.Clip(s.Args[0])
	}
	return "unknown"
}
