package fencelibvirt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kvmha/kvmha/internal/agentlog"
	"github.com/kvmha/kvmha/internal/fence"
	"github.com/kvmha/kvmha/internal/files"
	"github.com/kvmha/kvmha/internal/libvirt"
)

// libvirtURI works out where libvirtd is from uri, ip, ipport and
// identity_file (see the long description).
func libvirtURI(ctx context.Context, v *fence.Values) (string, error) {
	pki, err := pkiPath(ctx, v.Get(optIdentityFile))
	if err != nil {
		return "", err
	}
	port := 0
	if v.IsSet(optIPPort) {
		if port = v.Int(optIPPort); port < 1 || port > 65535 {
			return "", fmt.Errorf("ipport %q is not a TCP port (1-65535)", agentlog.Clip(v.Get(optIPPort)))
		}
	}
	return buildURI(v.Get(optURI), v.Get(optIPAddr), port, pki)
}

// buildURI is libvirtURI on plain values; port 0 means libvirt's default.
func buildURI(uri, ip string, port int, pki string) (string, error) {
	uri = strings.TrimSpace(uri)
	// Where the URI came from, for messages: the option, or libvirt's
	// default (LIBVIRT_DEFAULT_URI, libvirt.conf).
	source := "uri"
	if uri == "" {
		source = "ip"
	}
	if uri == "" && strings.TrimSpace(ip) != "" {
		host := strings.Trim(strings.TrimSpace(ip), "[]")
		if !validHost(host) {
			return "", fmt.Errorf("ip %q is not a host name or address", agentlog.Clip(ip))
		}
		if port != 0 {
			host = net.JoinHostPort(host, strconv.Itoa(port))
		} else if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		uri = (&url.URL{Scheme: "qemu+tls", Host: host, Path: "/system"}).String()
	}
	if uri == "" {
		uri, source = libvirt.DefaultURI(), "the default URI"
	}
	if pki != "" {
		u, err := url.Parse(uri)
		if err != nil || !isTLS(u) {
			return "", fmt.Errorf("identity_file is a TLS client key, but %q is not a TLS URI", agentlog.Clip(uri))
		}
		q := u.Query()
		if q.Get("pkipath") != "" && q.Get("pkipath") != pki {
			return "", errors.New("identity_file and the URI's pkipath disagree")
		}
		q.Set("pkipath", pki)
		u.RawQuery = q.Encode()
		uri = u.String()
	}
	if err := libvirt.CheckURI(uri); err != nil {
		return "", fmt.Errorf("%s: %w", source, err)
	}
	return uri, nil
}

// validHost reports whether s is an IP address (IPv6 without zone) or a
// host name: letters, digits, '-', '_' and '.', at most 253 bytes.
func validHost(s string) bool {
	if ip, err := netip.ParseAddr(s); err == nil {
		return ip.Zone() == ""
	}
	if s == "" || len(s) > 253 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// isTLS applies libvirt's rule: transport tls, or a host and no transport.
func isTLS(u *url.URL) bool {
	_, transport, _ := strings.Cut(u.Scheme, "+")
	return transport == "tls" || transport == "" && u.Host != ""
}

// identityWait bounds what looking at identity_file may take: a local
// file answers at once, one on a hung mount never.
const identityWait = 2 * time.Second

// maxIdentityFile bounds the read of identity_file: a PEM key of a few KiB.
const maxIdentityFile = 64 << 10

// pkiPath turns identity_file into libvirt's pkipath (a folder), refusing
// an ssh key: fence_virsh configurations name one there. The file is read
// bounded in size and time, and anything but a folder or a regular file
// is refused at once.
func pkiPath(ctx context.Context, identity string) (string, error) {
	if identity == "" {
		return "", nil
	}
	ctx, cancel := context.WithTimeout(ctx, identityWait)
	defer cancel()
	fi, err := statWithin(ctx, identity)
	if err != nil {
		return "", fmt.Errorf("identity_file: %q: %v", agentlog.Clip(identity), pathErr(err))
	}
	if fi.IsDir() {
		return filepath.Clean(identity), nil
	}
	head, err := files.Read(ctx, identity, maxIdentityFile)
	if err != nil {
		return "", fmt.Errorf("identity_file: %q: %v", agentlog.Clip(identity), pathErr(err))
	}
	if bytes.Contains(head, []byte("OPENSSH PRIVATE KEY")) || filepath.Base(identity) != "clientkey.pem" {
		return "", errors.New("identity_file must be a TLS client PKI folder or its clientkey.pem; fence_libvirt speaks libvirt RPC, not ssh")
	}
	return filepath.Dir(identity), nil
}

// statWithin is os.Stat given up when ctx ends (a stat on a hung mount
// blocks in the kernel; the goroutine is left to it).
func statWithin(ctx context.Context, path string) (fs.FileInfo, error) {
	type result struct {
		fi  fs.FileInfo
		err error
	}
	done := make(chan result, 1)
	go func() {
		fi, err := os.Stat(path)
		done <- result{fi, err}
	}()
	select {
	case r := <-done:
		return r.fi, r.err
	case <-ctx.Done():
		return nil, files.ErrTimedOut
	}
}

// pathErr drops the path a *fs.PathError repeats: messages quote it once,
// clipped.
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
