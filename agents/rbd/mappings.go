package rbd

import (
	"fmt"
	"strings"

	"github.com/kvmha/kvmha/internal/krbd"
	"github.com/kvmha/kvmha/internal/ocf"
)

// mapping is one device that maps the spec, by either driver.
type mapping struct {
	driver string // driverKRBD or driverNBD
	rbd    krbd.Device
	nbd    krbd.NBDMapping
}

// name is the block device's name: rbdN or nbdN.
func (m mapping) name() string {
	if m.driver == driverKRBD {
		return m.rbd.Name()
	}
	return m.nbd.Device.Name()
}

func (m mapping) String() string {
	if m.driver == driverNBD {
		return fmt.Sprintf("/dev/%s (rbd-nbd pid %d)", m.name(), m.nbd.Server.PID)
	}
	return "/dev/" + m.name()
}

// mappings finds every device on this node that maps the spec: the rbd
// bus's devices, and the nbd devices whose rbd-nbd serves it. Whatever the
// driver parameter says: a device mapped by the other driver is this
// resource running too, and stop must remove it.
// settingsAndMappings is how start, stop and monitor begin: the parameters,
// then the devices on this node that map the image.
func (a *agent) settingsAndMappings(req *ocf.Request) (settings, []mapping, error) {
	s, err := readSettings(req)
	if err != nil {
		return s, nil, err
	}
	ms, err := a.mappings(s.spec)
	if err != nil {
		return s, nil, ocf.Errorf(ocf.ErrGeneric, "%v", err)
	}
	return s, ms, nil
}

func (a *agent) mappings(spec krbd.Spec) ([]mapping, error) {
	var out []mapping
	devs, err := a.tree.Mapped(spec)
	if err != nil {
		return nil, fmt.Errorf("reading /sys/bus/rbd: %w", err)
	}
	for _, d := range devs {
		out = append(out, mapping{driver: driverKRBD, rbd: d})
	}
	nbds, err := a.tree.MappedNBD(spec)
	if err != nil {
		return nil, fmt.Errorf("reading the nbd devices: %w", err)
	}
	for _, n := range nbds {
		out = append(out, mapping{driver: driverNBD, nbd: n})
	}
	return out, nil
}

func describeAll(ms []mapping) string {
	var names []string
	for _, m := range ms {
		names = append(names, m.String())
	}
	return strings.Join(names, ", ")
}

// node is the device node of a mapping.
func (a *agent) node(m mapping) string { return a.tree.Dev + "/" + m.name() }
