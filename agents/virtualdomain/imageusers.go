package virtualdomain

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kvmha/kvmha/agents/virtualdomain/cephapi"
)

// An exclusive lock on an RBD image stays with its owner when the owner dies: librbd and
// the agent break it only for an owner the OSD blocklist fences. A lock left by a client of
// this very node that is gone (a qemu of an earlier boot of the node, or one that crashed)
// would then bar the guest from ever starting again, here or anywhere. Such an owner is
// recognized by three facts together: its address is this node's, it no longer watches the
// image (every open librbd client does), and no process or mapping of this node uses the
// image. The agent then fences that one client instance (its exact address), which is what
// breaking its lock requires.

// imageUsers finds what on this node uses an RBD image: qemu processes (libvirt's
// -blockdev, or an older -drive rbd: file), rbd-nbd processes, and kernel mappings.
type imageUsers struct {
	proc string // "/proc"
	sys  string // "/sys"
}

// Users describes each user of img on this node ("qemu pid 1234", "krbd rbd3").
func (u imageUsers) Users(img cephapi.Image) ([]string, error) {
	var users []string
	err := eachProcess(u.proc, func(pid int, args []string) {
		switch prog := filepath.Base(args[0]); {
		case strings.HasPrefix(prog, "qemu") && qemuUsesImage(args, img):
			users = append(users, fmt.Sprintf("qemu pid %d", pid))
		case prog == "rbd-nbd" && nbdUsesImage(args, img):
			users = append(users, fmt.Sprintf("rbd-nbd pid %d", pid))
		}
	})
	if err != nil {
		return nil, err
	}
	devs, _ := os.ReadDir(filepath.Join(u.sys, "bus", "rbd", "devices"))
	for _, d := range devs {
		dir := filepath.Join(u.sys, "bus", "rbd", "devices", d.Name())
		if sysValue(dir, "pool") == img.Pool && sysValue(dir, "pool_ns") == img.Namespace && sysValue(dir, "name") == img.Name {
			users = append(users, "krbd rbd"+d.Name())
		}
	}
	return users, nil
}

func sysValue(dir, name string) string {
	data, _ := os.ReadFile(filepath.Join(dir, name))
	return strings.TrimSpace(string(data))
}

// qemuUsesImage looks for the image in a qemu command line: a -blockdev JSON object
// with driver rbd, or a -drive whose file is rbd:POOL/[NS/]IMAGE.
func qemuUsesImage(args []string, img cephapi.Image) bool {
	for i := 0; i+1 < len(args); i++ {
		switch args[i] {
		case "-blockdev":
			var bd struct {
				Driver    string `json:"driver"`
				Pool      string `json:"pool"`
				Namespace string `json:"namespace"`
				Image     string `json:"image"`
			}
			if json.Unmarshal([]byte(args[i+1]), &bd) == nil && bd.Driver == "rbd" &&
				bd.Pool == img.Pool && bd.Namespace == img.Namespace && bd.Image == img.Name {
				return true
			}
		case "-drive":
			for _, opt := range strings.Split(args[i+1], ",") {
				if file, ok := strings.CutPrefix(opt, "file=rbd:"); ok && rbdSpecIs(file, img) {
					return true
				}
			}
		}
	}
	return false
}

// nbdUsesImage: rbd-nbd [options] map POOL/[NS/]IMAGE[@SNAP].
func nbdUsesImage(args []string, img cephapi.Image) bool {
	for _, a := range args[1:] {
		if rbdSpecIs(a, img) {
			return true
		}
	}
	return false
}

// rbdSpecIs reports whether spec (POOL/[NS/]IMAGE, followed by @snap or :options) names img.
func rbdSpecIs(spec string, img cephapi.Image) bool {
	if i := strings.IndexAny(spec, "@:"); i >= 0 {
		spec = spec[:i]
	}
	parts := strings.Split(spec, "/")
	switch len(parts) {
	case 2:
		return img.Namespace == "" && parts[0] == img.Pool && parts[1] == img.Name
	case 3:
		return parts[0] == img.Pool && parts[1] == img.Namespace && parts[2] == img.Name
	}
	return false
}
