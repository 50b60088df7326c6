// Package fencelibvirt is fence_libvirt: power fencing of hosts that are
// libvirt guests, spoken to libvirtd over its RPC protocol (unix socket, TCP
// or TLS) instead of ssh and virsh. Its options are those of fence_virsh:
// plug is the domain's name or UUID, ip (ipaddr) the libvirt host, and uri a full
// libvirt URI when more is needed.
package fencelibvirt

import (
	"github.com/kvmha/kvmha/internal/fence"
)

// Option names; ip, ipport, username and identity_file keep fence-agents'
// names, short flags and older stdin keys (ipaddr, login).
const (
	optURI          = "uri"
	optIPAddr       = "ip"
	optIPPort       = "ipport"
	optLogin        = "username"
	optIdentityFile = "identity_file"
	optMissingAsOff = "missing_as_off"
)

const longDesc = `fence_libvirt powers libvirt guests off and on by talking to libvirtd over its RPC protocol, the way virsh does, without ssh and without forking virsh: "off" is virsh destroy (immediate), "on" is virsh start, "reboot" is off then on, "status" is ON unless the domain is shut off, "list" prints every domain's name and UUID.

Where libvirtd is: "uri" when given (qemu:///system, qemu+unix:///system?socket=PATH, qemu+tcp://host/system, qemu+tls://host/system?pkipath=DIR); otherwise "ip" (ipaddr) and "ipport" mean qemu+tls://ip/system; with neither, the local default URI (LIBVIRT_DEFAULT_URI, uri_default of /etc/libvirt/libvirt.conf, else qemu:///system). ssh URIs are refused: use TLS with client certificates. For TLS, "identity_file" may name the client's PKI folder (cacert.pem, clientcert.pem, clientkey.pem) or the clientkey.pem in it; an ssh private key there is an error. "username" (login) is accepted for fence_virsh configurations and not used: libvirtd identifies TLS clients by their certificate.

"plug" is the domain's name or UUID; in Pacemaker map node names to domains with pcmk_host_map="node1:guest1;node2:guest2". With missing_as_off, a domain that does not exist counts as off (as fence_virsh's --missing-as-off).`

// New returns the fence_libvirt agent.
func New() *fence.Agent { return newAgent(productionDeps()) }

// newAgent returns the agent on d.
func newAgent(d deps) *fence.Agent { return (&fencer{deps: d}).agent() }

// version is the agent's version string.
var version = "0.1"

func (f *fencer) agent() *fence.Agent {
	return &fence.Agent{
		Name:            "fence_libvirt",
		ShortDesc:       "Fence agent for libvirt guests over libvirt RPC (no ssh)",
		LongDesc:        longDesc,
		VendorURL:       "https://libvirt.org",
		Version:         version,
		PlugDescription: "Name or UUID of the domain to fence",
		Options: []fence.Option{
			{Name: optURI, Type: fence.String, Placeholder: "uri",
				Description: "libvirt URI of the hypervisor (overrides ip)"},
			{Name: optIPAddr, Short: 'a', Type: fence.String, Placeholder: "ip", Aliases: []string{"ipaddr"},
				Description: "Host running libvirtd, reached with TLS (qemu+tls://ip/system)"},
			{Name: optIPPort, Short: 'u', Type: fence.Integer, Placeholder: "port",
				Description: "TCP port of libvirtd on ip (default 16514, libvirt's TLS port)"},
			{Name: optLogin, Short: 'l', Type: fence.String, Placeholder: "name", Aliases: []string{"login"},
				Description: "Accepted for fence_virsh configurations; not used (no ssh)"},
			{Name: optIdentityFile, Short: 'k', Type: fence.String, Placeholder: "path",
				Description: "TLS client PKI folder, or its clientkey.pem (not an ssh key)"},
			{Name: optMissingAsOff, Type: fence.Boolean,
				Description: "Report a domain that does not exist as off"},
		},
		Status:   f.status,
		On:       f.on,
		Off:      f.off,
		List:     f.list,
		Validate: f.validate,
	}
}
