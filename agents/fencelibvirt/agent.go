// Package fencelibvirt is fence_libvirt: power fencing of hosts that are
// libvirt guests, spoken to libvirtd over its RPC protocol (unix socket,
// TCP, TLS or ssh, the ssh client built in) instead of running virsh in an
// ssh shell. It takes every option of fence_virsh: plug is the domain's
// name or UUID, ip (ipaddr) the libvirt host, username, password,
// password_script, identity_file, ssh and ssh_options log in there as
// fence_virsh would, and uri names libvirtd directly when more is needed.
// The options that drive fence_virsh's shell session are accepted and
// noted as not used.
package fencelibvirt

import (
	"github.com/kvmha/kvmha/internal/fence"
)

// Option names, fence-agents' own with their older names as aliases.
const (
	optURI            = "uri"
	optIPAddr         = "ip"
	optIPPort         = "ipport"
	optLogin          = "username"
	optPassword       = "password"
	optPasswordScript = "password_script"
	optIdentityFile   = "identity_file"
	optSSH            = "ssh"
	optSSHOptions     = "ssh_options"
	optInet4Only      = "inet4_only"
	optInet6Only      = "inet6_only"
	optLoginTimeout   = "login_timeout"
	optMissingAsOff   = "missing_as_off"

	// Accepted for fence_virsh devices, not used (see notUsed).
	optCommandPrompt  = "command_prompt"
	optShellTimeout   = "shell_timeout"
	optDisableTimeout = "disable_timeout"
	optRetryOn        = "retry_on"
	optUseSudo        = "use_sudo"
	optSudoPath       = "sudo_path"
	optSSHPath        = "ssh_path"
	optPlugSeparator  = "plug_separator"
	optVerboseLevel   = "verbose_level"
)

const longDesc = `fence_libvirt powers libvirt guests off and on by talking to libvirtd over its RPC protocol, the way virsh does, without forking ssh or virsh: "off" is virsh destroy (immediate), "on" is virsh start, "reboot" is off then on, "status" is ON unless the domain is shut off, "list" prints every domain's name and UUID. It takes every option of fence_virsh, so that a fence_virsh device becomes a fence_libvirt one by changing its agent alone.

Where libvirtd is: "uri" when given (qemu:///system, qemu+unix:///system?socket=PATH, qemu+tcp://host/system, qemu+tls://host/system?pkipath=DIR, qemu+ssh://user@host[:port]/system?keyfile=PATH&known_hosts=PATH&no_verify=1&socket=PATH); otherwise "ip" (ipaddr): over ssh, qemu+ssh://username@ip:ipport/system (ipport 22 by default), else over TLS, qemu+tls://ip:ipport/system (16514 by default); with neither, the local default URI (LIBVIRT_DEFAULT_URI, uri_default of /etc/libvirt/libvirt.conf, else qemu:///system). "ip" goes over ssh when ssh=1 (secure=1), or, ssh not being set, when "password", "password_script" or an ssh private key in "identity_file" is given, as in every working fence_virsh device; ssh=0 and a TLS identity_file (the client's PKI folder with cacert.pem, clientcert.pem and clientkey.pem, or the clientkey.pem in it) mean TLS.

Over ssh the client is built in: it logs in as "username" (the current user when unset) with the private key "identity_file" (decrypted with "password" when encrypted, as fence_virsh answers ssh's passphrase prompt), or, without one, with "password" or the first line "password_script" prints (by password or keyboard-interactive authentication), or, with neither, the user's ~/.ssh/id_rsa, id_ecdsa or id_ed25519. password_script runs without a shell (its value is split into words as a shell would, without expansions; put pipes and variables in a script), with the agent's environment, stdin from /dev/null, at most 10 seconds and 4 KiB of output; the password is never logged nor passed to another process. The stream reaches libvirtd's socket (/run/libvirt/libvirt-sock, or the URI's socket=) through sshd's socket forwarding; where sshd refuses it (DisableForwarding), through the remote command virt-ssh-helper, else nc -U. The remote user needs access to that socket (root, or the libvirt group): there is no sudo. The host key must be in ~/.ssh/known_hosts, ~/.ssh/known_hosts2 or /etc/ssh/ssh_known_hosts (hashed entries, patterns, @revoked and @cert-authority are honoured; nothing is ever written there). Note that fence_virsh answers "yes" when ssh asks about an unknown host; fence_libvirt refuses it unless told otherwise: add the key (ssh-keyscan, after checking its fingerprint) on every node, or set ssh_options="-o StrictHostKeyChecking=accept-new". A monitor fails on an unknown host, so the device shows it before it has to fence.

ssh_options is read as ssh's command line: -o StrictHostKeyChecking=yes|ask (the default: an unknown host is refused), accept-new (an unknown host is accepted, a changed key refused) or no (any key is accepted, a changed one with a warning, and then no password is sent); -o UserKnownHostsFile=FILES and GlobalKnownHostsFile=FILES (none or /dev/null for no file); -i FILE and -o IdentityFile=FILE (more keys); -4, -6 and -o AddressFamily. -J and -o ProxyJump or ProxyCommand are refused (no jump host). Everything else in it is noted and ignored: -o Port, User, ConnectTimeout, BatchMode and the like (use ipport, username, login_timeout), other flags, -F (~/.ssh/config is not read), and the remote command fence_virsh's default ssh_options ends with. inet4_only and inet6_only restrict the ssh and tcp transports to IPv4 or IPv6 (TLS dials ignore them). login_timeout bounds establishing the connection: TCP, TLS or ssh handshake, authentication and the stream to libvirtd.

Not used, and noted once at info level when given: command_prompt (cmd_prompt) and shell_timeout (there is no shell), use_sudo (sudo) and sudo_path (no virsh command is run), ssh_path (the ssh client is built in), retry_on (libvirt's start either starts the domain or says why), disable_timeout (the action's deadline comes from power_timeout, see TIMEOUTS), plug_separator (one domain per plug), verbose_level (use verbose). "username" is not used over TLS, where libvirtd identifies clients by their certificate.

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
		ShortDesc:       "Fence agent for libvirt guests over libvirt RPC (a drop-in for fence_virsh)",
		LongDesc:        longDesc,
		VendorURL:       "https://libvirt.org",
		Version:         version,
		PlugDescription: "Name or UUID of the domain to fence",
		Options: []fence.Option{
			{Name: optURI, Type: fence.String, Placeholder: "uri",
				Description: "libvirt URI of the hypervisor (overrides ip)"},
			{Name: optIPAddr, Short: 'a', Type: fence.String, Placeholder: "ip", Aliases: []string{"ipaddr"},
				Description: "Host running libvirtd, reached with ssh (qemu+ssh://username@ip/system) or TLS (qemu+tls://ip/system)"},
			{Name: optIPPort, Short: 'u', Type: fence.Integer, Placeholder: "port",
				Description: "TCP port on ip: sshd's with ssh (default 22), libvirtd's TLS port otherwise (default 16514)"},
			{Name: optLogin, Short: 'l', Type: fence.String, Placeholder: "name", Aliases: []string{"login"},
				Description: "ssh login name (default: the current user); not used over TLS"},
			{Name: optPassword, Short: 'p', Type: fence.String, Placeholder: "password", Aliases: []string{"passwd"}, Secret: true,
				Description: "ssh password, or the passphrase of identity_file"},
			{Name: optPasswordScript, Short: 'S', Type: fence.String, Placeholder: "script", Aliases: []string{"passwd_script"},
				Description: "Command whose output is the password (run without a shell)"},
			{Name: optIdentityFile, Short: 'k', Type: fence.String, Placeholder: "filename",
				Description: "ssh private key; or, for TLS, the client PKI folder or its clientkey.pem"},
			{Name: optSSH, Short: 'x', Type: fence.Boolean, Aliases: []string{"secure"},
				Description: "Reach ip with ssh (unset: ssh when a password or an ssh key is given, else TLS)"},
			{Name: optSSHOptions, Type: fence.String, Placeholder: "options",
				Description: "ssh command-line options: host key checking, known hosts files, keys, address family (see the description)"},
			{Name: optInet4Only, Short: '4', Type: fence.Boolean,
				Description: "Reach ip over IPv4 only (ssh and tcp)"},
			{Name: optInet6Only, Short: '6', Type: fence.Boolean,
				Description: "Reach ip over IPv6 only (ssh and tcp)"},
			{Name: optLoginTimeout, Type: fence.Second, Default: "5",
				Description: "Seconds allowed to connect and log in to libvirtd (TCP, TLS or ssh handshake and authentication)"},
			{Name: optMissingAsOff, Type: fence.Boolean,
				Description: "Report a domain that does not exist as off"},
			{Name: optCommandPrompt, Short: 'c', Type: fence.String, Placeholder: "prompt", Aliases: []string{"cmd_prompt"},
				Description: "Accepted for fence_virsh devices; not used (no shell)"},
			{Name: optShellTimeout, Type: fence.Second,
				Description: "Accepted for fence_virsh devices; not used (no shell)"},
			{Name: optDisableTimeout, Type: fence.String, Placeholder: "true/false",
				Description: "Accepted for fence_virsh devices; not used (the deadline comes from power_timeout)"},
			{Name: optRetryOn, Type: fence.Integer, Placeholder: "attempts",
				Description: "Accepted for fence_virsh devices; not used (a libvirt start succeeds or says why)"},
			{Name: optUseSudo, Type: fence.Boolean, Aliases: []string{"sudo"},
				Description: "Accepted for fence_virsh devices; not used (no virsh command is run)"},
			{Name: optSudoPath, Type: fence.String, Placeholder: "path",
				Description: "Accepted for fence_virsh devices; not used (no virsh command is run)"},
			{Name: optSSHPath, Type: fence.String, Placeholder: "path",
				Description: "Accepted for fence_virsh devices; not used (the ssh client is built in)"},
			{Name: optPlugSeparator, Type: fence.String, Placeholder: "char",
				Description: "Accepted for fence_virsh devices; not used (one domain per plug)"},
			{Name: optVerboseLevel, Type: fence.Integer, Placeholder: "level",
				Description: "Accepted for fence_virsh devices; not used (use verbose)"},
		},
		Status:   f.status,
		On:       f.on,
		Off:      f.off,
		List:     f.list,
		Validate: f.validate,
	}
}
