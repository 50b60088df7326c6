package virtualdomain

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/kvmha/kvmha/agents/virtualdomain/cephapi"
	"github.com/kvmha/kvmha/internal/heartbeat"
	"github.com/kvmha/kvmha/internal/libvirt"
	"github.com/kvmha/kvmha/internal/ocf"
)

// New returns ocf:kvmha:VirtualDomain wired to the real libvirtd, process
// table and, when openCeph is not nil, Ceph. Without it, actions that need
// Ceph fail with OCF_ERR_INSTALLED (normally the static build hands the
// actions NeedsCeph names to its Ceph-linked twin).
func New(openCeph cephapi.OpenFunc) *ocf.Agent { return newAgent(productionDeps(openCeph)) }

// productionDeps is this host.
func productionDeps(openCeph cephapi.OpenFunc) deps {
	if openCeph == nil {
		openCeph = cephNotBuiltIn
	}
	return deps{
		dialHypervisor: func(ctx context.Context, uri string) (hypervisor, error) {
			c, err := libvirt.Dial(ctx, uri)
			if err != nil {
				return nil, err
			}
			return c, nil
		},
		openCeph:        openCeph,
		qemu:            procQemu{root: "/proc"},
		localAddrs:      interfaceIPs,
		run:             runCommand,
		utilization:     pacemakerUtilization{},
		imageUsers:      imageUsers{proc: "/proc", sys: "/sys"}.Users,
		poll:            250 * time.Millisecond,
		defaultCephConf: "/etc/ceph/ceph.conf",
		defaultURI:      libvirt.DefaultURI,
		heartbeatLocal:  heartbeat.OpenLocal,
		heartbeatState: func() *heartbeat.State {
			st, err := heartbeat.ReadState(heartbeat.DefaultStateDir)
			if err != nil {
				return nil
			}
			return st
		},
		heartbeatMargin: heartbeat.DefaultMargin,
	}
}

// errNoCeph: this build neither links Ceph nor carries its Ceph-linked twin.
var errNoCeph = errors.New("this build of the agent has no Ceph support (build it with make build)")

func cephNotBuiltIn(context.Context, cephapi.Access) (cephapi.Inspector, error) {
	return nil, errNoCeph
}

// interfaceIPs lists the addresses of this node's interfaces.
func interfaceIPs() ([]net.IP, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	ips := make([]net.IP, 0, len(addrs))
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			ips = append(ips, n.IP)
		}
	}
	return ips, nil
}
