// Package libvirt is kvmha's small adapter over go-libvirt: it opens a
// connection from a libvirt URI and makes every remote call answer within the
// caller's context, which go-libvirt's own calls do not take.
//
// Connections:
//
//	conn, err := libvirt.Dial(ctx, "qemu:///system")      // local socket (?socket= honoured)
//	conn, err := libvirt.Dial(ctx, "qemu+tcp://node2/system")
//	conn, err := libvirt.Dial(ctx, "qemu+ssh://root@node2/system?keyfile=/root/.ssh/id_ed25519")
//	defer conn.Close()
//
// Supported transports are the local unix socket (qemu:///system,
// qemu+unix:///system, with ?socket=PATH), qemu+tcp, qemu+tls (a URI with a
// host and no transport means TLS, as in libvirt) and ssh
// (qemu+ssh://[user@]host[:port]/system; libssh2 and libssh are taken as the
// same). Other transports are refused with ErrUnsupportedURI.
//
// SSH is built in (golang.org/x/crypto/ssh; no ssh client is forked). The
// stream reaches libvirtd's socket on the remote host, ?socket= or
// /run/libvirt/libvirt-sock, through a direct-streamlocal channel; when sshd
// refuses it (DisableForwarding), through a remote command: virt-ssh-helper
// when the host has it, else nc -U. The URI's parameters keyfile,
// known_hosts, no_verify, socket and netcat mean what they mean to libvirt.
// Without keyfile, the user's ~/.ssh/id_rsa, id_ecdsa and id_ed25519 are
// tried (unencrypted ones); host keys are checked against ~/.ssh/known_hosts
// (known_hosts2) and /etc/ssh/ssh_known_hosts (for libssh and libssh2:
// $XDG_CONFIG_HOME/libvirt/known_hosts), hashed entries, patterns,
// @revoked and @cert-authority included, and an unknown host is refused
// unless no_verify=1. Known hosts files are never written. ~/.ssh/config
// and ssh-agent are not used. DialWith adds what a URI cannot carry (a
// password, a key's passphrase, a host key policy, known hosts files, an
// address family, a bound on establishing the connection): see DialOptions.
// CheckFiles reads the key and known hosts files (and a TLS pkipath) bounded,
// without connecting, so that a bad file is named at validation.
//
// Deadlines: Dial and every method take a context; Dial's bounds the whole
// connection, TCP connect, TLS or ssh handshake and authentication
// included. When the context ends before libvirtd answers (a hung or
// SIGSTOPped daemon), the call is abandoned: the method returns an error
// that matches ErrUnreachable and context.DeadlineExceeded, the socket is
// closed so nothing stays blocked, and the Conn refuses further calls (Dial
// again for a fresh one).
//
// Errors are classified by libvirt error code, never by message text:
// errors.Is(err, ErrNotFound) for a missing domain, secret, pool or network;
// ErrUnreachable when libvirtd cannot be reached or did not answer in time;
// ErrInvalidOperation when libvirtd refused the call in the object's current
// state (destroying a domain that is not running). Code(err) gives the raw
// libvirt error number when there is one.
package libvirt
