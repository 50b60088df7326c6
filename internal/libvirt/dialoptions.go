package libvirt

import (
	"context"
	"time"
)

// DialOptions is what a connection may need beyond its URI: a fence
// agent's password (never put in a URI, which is logged), its host key
// policy and known hosts files from ssh options, a bound on establishing
// the transport and an address family. The zero value dials as the URI
// says.
type DialOptions struct {
	// ConnectTimeout bounds establishing the transport, within the
	// context given to Dial: the TCP connection and the TLS handshake, or
	// the ssh handshake with authentication and the channel to the remote
	// socket. 0: the context alone.
	ConnectTimeout time.Duration
	// Network restricts the address family of tcp and ssh transports:
	// "tcp4" or "tcp6"; "" for either. TLS dials ignore it.
	Network string
	// SSH applies to ssh URIs only.
	SSH SSHOptions
	// Logf, when set, receives what a dial decided on the user's behalf:
	// an unknown or changed host key accepted by the host key policy.
	Logf func(format string, args ...any)
}

// HostKeyPolicy says what an ssh dial does with a host key that its known
// hosts files do not hold, as OpenSSH's StrictHostKeyChecking does.
type HostKeyPolicy int

// Host key policies. Known hosts files are never written.
const (
	// HostKeyFromURI: AcceptAny when the URI says no_verify=1, else Strict.
	HostKeyFromURI HostKeyPolicy = iota
	// HostKeyStrict: the host's key must be in a known hosts file
	// (StrictHostKeyChecking=yes, and ask when nobody can answer).
	HostKeyStrict
	// HostKeyAcceptNew: a host no file knows is accepted; a known host
	// whose key differs is refused (StrictHostKeyChecking=accept-new).
	HostKeyAcceptNew
	// HostKeyAcceptAny: any key is accepted; a changed one is logged and
	// password authentication is then refused, so that an impostor does
	// not learn the password (StrictHostKeyChecking=no, no_verify=1).
	HostKeyAcceptAny
)

// SSHOptions complete an ssh URI. A nil slice means "as the URI says, else
// OpenSSH's default"; an empty non-nil one means none.
type SSHOptions struct {
	// User logs in when the URI names none; "" is the current user.
	User string
	// KeyFiles are private keys tried in this order, replacing the URI's
	// keyfile and the default ~/.ssh/id_* keys.
	KeyFiles []string
	// Passphrase decrypts encrypted KeyFiles (fence-agents' password with
	// an identity file).
	Passphrase string
	// Password authenticates by password and keyboard-interactive when no
	// key file is given (by option or URI); default keys are then not
	// tried, as fence_virsh's ssh -o PubkeyAuthentication=no.
	Password string
	// UserKnownHosts replace the URI's known_hosts and the user's default
	// files (~/.ssh/known_hosts, ~/.ssh/known_hosts2 for ssh;
	// $XDG_CONFIG_HOME/libvirt/known_hosts for libssh and libssh2).
	UserKnownHosts []string
	// GlobalKnownHosts replace /etc/ssh/ssh_known_hosts and
	// /etc/ssh/ssh_known_hosts2.
	GlobalKnownHosts []string
	// HostKeys is the host key policy.
	HostKeys HostKeyPolicy
}

// connectContext is ctx bounded by ConnectTimeout as well.
func (o DialOptions) connectContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if o.ConnectTimeout > 0 {
		return context.WithTimeout(ctx, o.ConnectTimeout)
	}
	return context.WithCancel(ctx)
}

func (o DialOptions) logf(format string, args ...any) {
	if o.Logf != nil {
		o.Logf(format, args...)
	}
}

// network is o.Network, or "tcp".
func (o DialOptions) network() string {
	if o.Network == "tcp4" || o.Network == "tcp6" {
		return o.Network
	}
	return "tcp"
}
