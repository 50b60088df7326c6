// Package libvirt is kvmha's small adapter over go-libvirt: it opens a
// connection from a libvirt URI and makes every remote call answer within the
// caller's context, which go-libvirt's own calls do not take.
//
// Connections:
//
//	conn, err := libvirt.Dial(ctx, "qemu:///system")      // local socket (?socket= honoured)
//	conn, err := libvirt.Dial(ctx, "qemu+tcp://node2/system")
//	defer conn.Close()
//
// Supported transports are the local unix socket (qemu:///system,
// qemu+unix:///system, with ?socket=PATH), qemu+tcp and qemu+tls (a URI with a
// host and no transport means TLS, as in libvirt). SSH transports are refused
// with ErrUnsupportedURI: kvmha never forks an ssh client, and peer-to-peer
// migration lets libvirtd itself reach an ssh destination.
//
// Deadlines: Dial and every method take a context. When the context ends
// before libvirtd answers (a hung or SIGSTOPped daemon), the call is abandoned:
// the method returns an error that matches ErrUnreachable and
// context.DeadlineExceeded, the socket is closed so nothing stays blocked, and
// the Conn refuses further calls (Dial again for a fresh one).
//
// Errors are classified by libvirt error code, never by message text:
// errors.Is(err, ErrNotFound) for a missing domain, secret, pool or network;
// ErrUnreachable when libvirtd cannot be reached or did not answer in time;
// ErrInvalidOperation when libvirtd refused the call in the object's current
// state (destroying a domain that is not running). Code(err) gives the raw
// libvirt error number when there is one.
package libvirt
