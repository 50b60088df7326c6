package rbd

import (
	"context"
	"errors"
	"os"
	"strings"

	"github.com/kvmha/kvmha/agents/rbd/cephapi"
	"github.com/kvmha/kvmha/internal/agentlog"
	"github.com/kvmha/kvmha/internal/files"
	"github.com/kvmha/kvmha/internal/krbd"
	"github.com/kvmha/kvmha/internal/ocf"
)

// keySource is where the user's key is: the secret parameter's file (a
// bare key or a keyring), or, with path "", the keyring the Ceph
// configuration names.
type keySource struct {
	path   string
	format krbd.KeyFileFormat
}

// keySource reads the secret file once, to learn its format (librados and
// rbd-nbd need to be told) and to fail early when it has no usable key.
func (s settings) keySource(ctx context.Context) (keySource, error) {
	if s.secret == "" {
		return keySource{}, nil
	}
	rctx, cancel := context.WithTimeout(ctx, fileReadTimeout)
	defer cancel()
	data, err := files.Read(rctx, s.secret, maxKeyFile)
	if err != nil {
		return keySource{}, fileError("secret", err)
	}
	defer clear(data)
	sec, format, err := krbd.ParseSecret(data, s.user)
	sec.Wipe()
	if err != nil {
		return keySource{}, ocf.Errorf(ocf.ErrInstalled, "secret: %q: %v", agentlog.Clip(s.secret), err)
	}
	if format == krbd.Keyring {
		// librados reads the keyring again, with a parser that aborts on some text.
		if err := libradosCanParse(data); err != nil {
			return keySource{}, ocf.ParamErrorf("secret", "%q %v", agentlog.Clip(s.secret), err)
		}
	}
	return keySource{path: s.secret, format: format}, nil
}

// maxKeyFile bounds a key or keyring file; real ones are a few hundred bytes.
const maxKeyFile = 64 << 10

// kernelKey reads the key the kernel driver needs: from the secret file,
// or from the first keyring of the configuration's search list that exists
// (librados' own rule).
func (a *agent) kernelKey(ctx context.Context, req *ocf.Request, s settings, key keySource, sess cephapi.Session) (krbd.Secret, error) {
	path := key.path
	if path == "" {
		paths, err := sess.KeyringPaths()
		if err != nil {
			return krbd.Secret{}, ocf.Errorf(ocf.ErrGeneric, "finding the keyring: %v", err)
		}
		for _, p := range paths {
			if _, err := os.Stat(p); err == nil {
				path = p
				break
			}
		}
		if path == "" {
			return krbd.Secret{}, ocf.Errorf(ocf.ErrInstalled,
				"no keyring for client.%s: none of %s exists; set secret", s.user, strings.Join(paths, ", "))
		}
	}
	warnIfReadable(req, path)
	rctx, cancel := context.WithTimeout(ctx, fileReadTimeout)
	defer cancel()
	sec, _, err := krbd.ReadSecretFile(rctx, path, s.user)
	if err != nil {
		return krbd.Secret{}, ocf.Errorf(ocf.ErrInstalled, "the key of client.%s: %v", s.user, clipPath(err))
	}
	return sec, nil
}

// warnIfReadable warns about a key file that users other than root can
// read: the agent never copies the key, but it cannot protect the file.
func warnIfReadable(req *ocf.Request, path string) {
	st, err := os.Stat(path)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			req.Log.Warnf("cannot check the permissions of %s: %v", path, err)
		}
		return
	}
	if st.Mode().Perm()&0o044 != 0 {
		req.Log.Warnf("%s holds a cephx key and is readable by users other than its owner (mode %#o)", path, st.Mode().Perm())
	}
}
