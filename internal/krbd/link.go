package krbd

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// LinkPath is the stable name of a mapped spec, the one Ceph's udev rule
// (ceph-rbdnamer) gives krbd devices: /dev/rbd/<pool>/[<namespace>/]<image>
// with "@<snap>" appended for a snapshot. Spec.Check keeps every element a
// plain name, so the path stays under /dev/rbd.
func (t Tree) LinkPath(spec Spec) string {
	elems := []string{t.Dev, "rbd", spec.Pool}
	if spec.Namespace != "" {
		elems = append(elems, spec.Namespace)
	}
	name := spec.Image
	if spec.Snap != "" {
		name += "@" + spec.Snap
	}
	return filepath.Join(append(elems, name)...)
}

// linkTarget is what the link holds: a path relative to its folder, as
// udev writes them ("../../rbd0").
func (t Tree) linkTarget(link, node string) (string, error) {
	return filepath.Rel(filepath.Dir(link), node)
}

// EnsureLink makes LinkPath(spec) a symbolic link to the device node
// (udev does this on hosts that run it; without udev nobody does). A link
// that is right is left alone; a wrong link or a stale one is replaced
// atomically. It reports whether it changed anything.
func (t Tree) EnsureLink(spec Spec, node string) (bool, error) {
	if err := spec.Check(); err != nil {
		return false, err
	}
	link := t.LinkPath(spec)
	target, err := t.linkTarget(link, node)
	if err != nil {
		return false, err
	}
	if cur, err := os.Readlink(link); err == nil && cur == target {
		return false, nil
	}
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		return false, err
	}
	tmp := link + ".kvmha-tmp"
	_ = os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return false, err
	}
	if err := os.Rename(tmp, link); err != nil {
		_ = os.Remove(tmp)
		return false, fmt.Errorf("%s: %w", link, err)
	}
	return true, nil
}

// RemoveLink removes LinkPath(spec) if it is a symbolic link that leads to
// one of nodes (the devices just unmapped), or that leads nowhere; a link
// to another device (udev's, for a mapping of the same spec the agent did
// not make) is kept. Empty folders it leaves under /dev/rbd are removed.
func (t Tree) RemoveLink(spec Spec, nodes ...string) error {
	if err := spec.Check(); err != nil {
		return err
	}
	link := t.LinkPath(spec)
	cur, err := os.Readlink(link)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	ours := false
	for _, node := range nodes {
		if target, err := t.linkTarget(link, node); err == nil && target == cur {
			ours = true
		}
	}
	dest := cur
	if !filepath.IsAbs(dest) {
		dest = filepath.Join(filepath.Dir(link), cur)
	}
	if !ours && exists(dest) {
		return nil
	}
	if err := os.Remove(link); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	root := filepath.Join(t.Dev, "rbd")
	for dir := filepath.Dir(link); strings.HasPrefix(dir, root+string(filepath.Separator)); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil {
			break // not empty
		}
	}
	return nil
}
