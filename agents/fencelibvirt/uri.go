package fencelibvirt

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kvmha/kvmha/internal/agentlog"

	"github.com/kvmha/kvmha/internal/fence"
	"github.com/kvmha/kvmha/internal/libvirt"
)

// libvirtURI works out where libvirtd is from uri, ip, ipport and
// identity_file (see the long description).
func libvirtURI(v *fence.Values) (string, error) {
	pki, err := pkiPath(v.Get(optIdentityFile))
	if err != nil {
		return "", err
	}
	port := 0
	if v.IsSet(optIPPort) {
		if port = v.Int(optIPPort); port < 1 || port > 65535 {
			return "", fmt.Errorf("ipport %d is not a TCP port", port)
		}
	}
	return buildURI(v.Get(optURI), v.Get(optIPAddr), port, pki)
}

// buildURI is libvirtURI on plain values; port 0 means libvirt's default.
func buildURI(uri, ip string, port int, pki string) (string, error) {
	uri = strings.TrimSpace(uri)
	if uri == "" && strings.TrimSpace(ip) != "" {
		host := strings.Trim(strings.TrimSpace(ip), "[]")
		if host == "" || strings.ContainsAny(host, "/?#@[]% \t") {
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
		uri = libvirt.DefaultURI()
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
		return "", err
	}
	return uri, nil
}

// isTLS applies libvirt's rule: transport tls, or a host and no transport.
func isTLS(u *url.URL) bool {
	_, transport, _ := strings.Cut(u.Scheme, "+")
	return transport == "tls" || transport == "" && u.Host != ""
}

// pkiPath turns identity_file into libvirt's pkipath (a folder), refusing
// an ssh key: fence_virsh configurations name one there.
func pkiPath(identity string) (string, error) {
	if identity == "" {
		return "", nil
	}
	fi, err := os.Stat(identity)
	if err != nil {
		return "", fmt.Errorf("identity_file: %v", err)
	}
	if fi.IsDir() {
		return filepath.Clean(identity), nil
	}
	head := make([]byte, 64)
	f, err := os.Open(identity)
	if err != nil {
		return "", fmt.Errorf("identity_file: %v", err)
	}
	n, _ := f.Read(head)
	f.Close()
	if bytes.Contains(head[:n], []byte("OPENSSH PRIVATE KEY")) || filepath.Base(identity) != "clientkey.pem" {
		return "", errors.New("identity_file must be a TLS client PKI folder or its clientkey.pem; fence_libvirt speaks libvirt RPC, not ssh")
	}
	return filepath.Dir(identity), nil
}
