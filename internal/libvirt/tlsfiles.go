package libvirt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/kvmha/kvmha/internal/files"
)

// go-libvirt reads the TLS client files of a pkipath whole and without a
// deadline: a pkipath (from a URI or a fence agent's identity_file) whose
// clientcert.pem is /dev/zero grows the process without end, one on a
// hung mount blocks it. They are read here first, bounded, so that such a
// folder is an error at once that names the file.

// Bounds of the TLS client files: PEM certificates and keys of a few KiB.
const (
	maxTLSFile  = 1 << 20
	tlsFileWait = 2 * time.Second
)

// CheckTLSFiles checks, for a TLS URI with a pkipath, that the folder holds
// cacert.pem (unless no_verify=1), clientcert.pem and clientkey.pem as
// regular files of at most 1 MiB that read in time, and that the key is no
// ssh key. Other URIs need no file of a parameter's choosing: nil. The
// files' content is never quoted.
func CheckTLSFiles(ctx context.Context, uri string) error {
	ep, err := parseURI(uri)
	if err != nil {
		return err
	}
	return ep.checkTLSFiles(ctx)
}

func (ep endpoint) checkTLSFiles(ctx context.Context) error {
	if !ep.tls || ep.pkiPath == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, tlsFileWait)
	defer cancel()
	for _, name := range []string{"clientcert.pem", "clientkey.pem", "cacert.pem"} {
		data, err := files.Read(ctx, filepath.Join(ep.pkiPath, name), maxTLSFile)
		err = files.Cause(err)
		switch {
		case name == "cacert.pem" && ep.noVerify && errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return fmt.Errorf("pkipath \"%s\": %s: %w", boundedText(ep.pkiPath), name, err)
		case name == "clientkey.pem" && bytes.Contains(data, []byte("OPENSSH PRIVATE KEY")):
			return fmt.Errorf("pkipath \"%s\": clientkey.pem is an ssh key, not a TLS client key", boundedText(ep.pkiPath))
		}
	}
	return nil
}
