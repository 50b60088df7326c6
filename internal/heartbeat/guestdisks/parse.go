// Package guestdisks tells which storage a libvirt guest uses, in the terms
// of the heartbeat record (heartbeat.Disk), so that two hosts can tell
// whether their guests write to the same file, device or image: Parse reads
// the disks of a domain XML, ParsePool a storage pool's XML, and a Resolver
// completes them with what this host knows (symbolic links followed, a
// block device's stable ids from sysfs and /dev/disk/by-id, pool volumes
// resolved). Every file system access is bounded in time: shared storage
// may hang.
package guestdisks

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/beevik/etree"

	"github.com/kvmha/kvmha/internal/heartbeat"
)

// Parse reads the <disk> elements of a libvirt domain XML (a config file
// or a running domain's XML): every disk with a source, in their order; a
// CD-ROM without media has none and is left out, and so are sources that
// name no storage kvmha can compare (directories, vhost-user, NVMe by PCI
// address). A snapshot of an RBD image is read-only.
func Parse(xml []byte) ([]heartbeat.Disk, error) {
	doc := etree.NewDocument()
	doc.ReadSettings.Permissive = false
	if err := doc.ReadFromBytes(xml); err != nil {
		return nil, fmt.Errorf("the domain XML does not parse: %w", err)
	}
	root := doc.Root()
	if root == nil || root.Tag != "domain" {
		return nil, errors.New("the XML's root element is not <domain>")
	}
	devices := root.SelectElement("devices")
	if devices == nil {
		return nil, nil
	}
	var out []heartbeat.Disk
	for _, disk := range devices.SelectElements("disk") {
		if d, ok := parseDisk(disk); ok {
			out = append(out, d)
		}
	}
	return out, nil
}

func parseDisk(disk *etree.Element) (heartbeat.Disk, bool) {
	source := disk.SelectElement("source")
	if source == nil {
		return heartbeat.Disk{}, false
	}
	d := heartbeat.Disk{
		ReadOnly:  disk.SelectElement("readonly") != nil,
		Shareable: disk.SelectElement("shareable") != nil,
	}
	if t := disk.SelectElement("target"); t != nil {
		d.Target = strings.TrimSpace(t.SelectAttrValue("dev", ""))
	}
	attr := func(name string) string { return strings.TrimSpace(source.SelectAttrValue(name, "")) }
	switch disk.SelectAttrValue("type", "file") {
	case "file":
		d.Kind, d.Source = heartbeat.DiskFile, cleanPath(attr("file"))
	case "block":
		d.Kind, d.Source = heartbeat.DiskBlock, cleanPath(attr("dev"))
	case "volume":
		pool, vol := attr("pool"), attr("volume")
		if pool == "" || vol == "" {
			return heartbeat.Disk{}, false
		}
		d.Kind, d.Source = heartbeat.DiskVolume, pool+"/"+vol
	case "network":
		protocol, name := attr("protocol"), attr("name")
		if protocol == "" || name == "" {
			return heartbeat.Disk{}, false
		}
		if protocol != "rbd" {
			d.Kind, d.Source = heartbeat.DiskNetwork, protocol+":"+name
			break
		}
		image, snap, _ := strings.Cut(name, "@")
		if s := source.SelectElement("snapshot"); s != nil && snap == "" {
			snap = s.SelectAttrValue("name", "")
		}
		d.Kind, d.Source = heartbeat.DiskRBD, image
		d.ReadOnly = d.ReadOnly || snap != "" // librbd opens a snapshot read-only
	default:
		return heartbeat.Disk{}, false
	}
	if d.Source == "" || len(d.Source) > heartbeat.MaxDiskPath {
		return heartbeat.Disk{}, false
	}
	return d, true
}

// cleanPath cleans an absolute path; anything else is no path to compare.
func cleanPath(p string) string {
	if !filepath.IsAbs(p) {
		return ""
	}
	return filepath.Clean(p)
}

// Pool is what a libvirt storage pool's XML says of where its volumes are.
type Pool struct {
	Type string // dir, fs, netfs, logical, rbd, iscsi, ...
	// Path is the target path of a dir, fs, netfs or logical pool: its
	// volumes are Path/VOLUME.
	Path string
	// RBDPool is a pool of type rbd's Ceph pool.
	RBDPool string
}

// ParsePool reads a libvirt storage pool XML.
func ParsePool(xml []byte) (Pool, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(xml); err != nil {
		return Pool{}, fmt.Errorf("the pool XML does not parse: %w", err)
	}
	root := doc.Root()
	if root == nil || root.Tag != "pool" {
		return Pool{}, errors.New("the XML's root element is not <pool>")
	}
	p := Pool{Type: root.SelectAttrValue("type", "")}
	if t := root.SelectElement("target"); t != nil {
		if e := t.SelectElement("path"); e != nil {
			p.Path = cleanPath(strings.TrimSpace(e.Text()))
		}
	}
	if p.Type == "rbd" {
		if s := root.SelectElement("source"); s != nil {
			if e := s.SelectElement("name"); e != nil {
				p.RBDPool = strings.TrimSpace(e.Text())
			}
		}
	}
	return p, nil
}

// Volume resolves a volume disk (Kind volume, Source pool/volume) of pool p:
// a file or device under a directory, filesystem or LVM pool's path, an
// image of an rbd pool. ok is false for other pools (iSCSI, SCSI, multipath,
// disk, gluster, zfs): their volume names are not paths.
func (p Pool) Volume(d heartbeat.Disk) (heartbeat.Disk, bool) {
	_, vol, _ := strings.Cut(d.Source, "/")
	if vol == "" || strings.Contains(vol, "/") {
		return d, false
	}
	out := d
	out.Volume = d.Source
	switch p.Type {
	case "dir", "fs", "netfs":
		if p.Path == "" {
			return d, false
		}
		out.Kind, out.Source = heartbeat.DiskFile, filepath.Join(p.Path, vol)
	case "logical":
		if p.Path == "" {
			return d, false
		}
		out.Kind, out.Source = heartbeat.DiskBlock, filepath.Join(p.Path, vol)
	case "rbd":
		if p.RBDPool == "" {
			return d, false
		}
		out.Kind, out.Source = heartbeat.DiskRBD, p.RBDPool+"/"+vol
	default:
		return d, false
	}
	return out, true
}
