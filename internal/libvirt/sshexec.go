package libvirt

import (
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// When sshd will not forward a channel to libvirtd's socket, the stream
// goes through a remote command instead, as libvirt's own ssh transport
// does: virt-ssh-helper (libvirt 6.8 and later; it finds the modular
// daemons' sockets) when the host has it, else nc -U on the socket. A URI
// that names its socket or its netcat gets nc on that socket.

// remoteProxyCommand is the command line the remote user's shell runs.
func remoteProxyCommand(p *sshPlan) string {
	nc := "nc"
	if p.netcat != "" {
		nc = shellQuote(p.netcat)
	}
	netcat := nc + " -U " + shellQuote(p.socket)
	if p.given || p.netcat != "" {
		return netcat
	}
	return "if command -v virt-ssh-helper >/dev/null 2>&1; then exec virt-ssh-helper " + shellQuote(p.name) +
		"; else exec " + netcat + "; fi"
}

// shellQuote quotes s for a POSIX shell: in single quotes, each single quote
// in s closing the quotes, escaped, and reopening them.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// execProxy starts the remote command on a session of client and returns
// its standard input and output as the stream.
func execProxy(client *ssh.Client, p *sshPlan) (net.Conn, error) {
	session, err := client.NewSession()
	if err != nil {
		return nil, err
	}
	stdin, err := session.StdinPipe()
	if err != nil {
		session.Close()
		return nil, err
	}
	stdout, err := session.StdoutPipe()
	if err != nil {
		session.Close()
		return nil, err
	}
	c := &execConn{session: session, client: client, stdin: stdin, stdout: stdout}
	session.Stderr = &c.stderr
	if err := session.Start(remoteProxyCommand(p)); err != nil {
		session.Close()
		return nil, err
	}
	return c, nil
}

// execConn is a remote command's standard input and output as a net.Conn;
// closing it ends the session and the ssh connection.
type execConn struct {
	session *ssh.Session
	client  *ssh.Client
	stdin   io.WriteCloser
	stdout  io.Reader
	stderr  firstLine
}

// failure is what the remote command said on stderr, for the error of a
// connection that ended before libvirtd answered (go-libvirt reports only
// that its call was interrupted): "" when nothing.
func (c *execConn) failure() string { return c.stderr.String() }

// firstLine keeps the first line written to it, at most 200 bytes.
type firstLine struct {
	mu   sync.Mutex
	line []byte
	done bool
}

func (f *firstLine) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, b := range p {
		if f.done || b == '\n' || len(f.line) >= 200 {
			f.done = f.done || len(f.line) > 0
			continue
		}
		f.line = append(f.line, b)
	}
	return len(p), nil
}

func (f *firstLine) String() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return boundedText(strings.TrimSpace(string(f.line)))
}

func (c *execConn) Read(b []byte) (int, error)  { return c.stdout.Read(b) }
func (c *execConn) Write(b []byte) (int, error) { return c.stdin.Write(b) }

func (c *execConn) Close() error {
	c.stdin.Close()
	c.session.Close()
	return c.client.Close()
}

func (c *execConn) LocalAddr() net.Addr  { return c.client.LocalAddr() }
func (c *execConn) RemoteAddr() net.Addr { return c.client.RemoteAddr() }

var errNoDeadline = errors.New("ssh: deadlines are not supported on a remote command's stream")

func (c *execConn) SetDeadline(time.Time) error      { return errNoDeadline }
func (c *execConn) SetReadDeadline(time.Time) error  { return errNoDeadline }
func (c *execConn) SetWriteDeadline(time.Time) error { return errNoDeadline }
