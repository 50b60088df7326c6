package heartbeat

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kvmha/kvmha/internal/agentlog"
)

// fileBackend keeps one record file and one message file per host in a
// directory of a shared filesystem (NFS, CephFS, OCFS2, GFS2):
// DIR/NODE.record and DIR/NODE.message. Each is rewritten in place with one
// direct, synchronous write of its full slot size: no rename, whose
// visibility on NFS depends on the other clients' lookup caches.
type fileBackend struct {
	spec Spec
}

func newFileBackend(s Spec) *fileBackend { return &fileBackend{spec: s} }

const (
	recordSuffix  = ".record"
	messageSuffix = ".message"
)

func (b *fileBackend) URI() string { return b.spec.String() }

func (b *fileBackend) path(node, suffix string) (string, error) {
	if !ValidNodeName(node) {
		return "", errors.New("invalid node name " + agentlog.Clip(node))
	}
	return filepath.Join(b.spec.Path, node+suffix), nil
}

// Register checks that the directory is there: a missing one is a
// configuration error, never created (a typo would give every host its own
// local directory, where nobody sees anybody).
func (b *fileBackend) Register(_ context.Context, node string) error {
	fi, err := os.Stat(b.spec.Path)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return errors.New(b.spec.Path + " is not a directory")
	}
	_, err = b.path(node, recordSuffix)
	return err
}

func (b *fileBackend) write(node, suffix string, frame []byte, size int) error {
	p, err := b.path(node, suffix)
	if err != nil {
		return err
	}
	buf, err := padded(frame, size)
	if err != nil {
		return err
	}
	f, _, err := openDirect(p, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	_, werr := f.WriteAt(buf, 0)
	cerr := f.Close()
	if werr != nil {
		return werr
	}
	return cerr
}

func (b *fileBackend) read(node, suffix string, size int) ([]byte, error) {
	p, err := b.path(node, suffix)
	if err != nil {
		return nil, err
	}
	f, _, err := openDirect(p, os.O_RDONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := alignedBuf(size)
	n, err := readFull(f, buf, 0)
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}

func (b *fileBackend) WriteRecord(_ context.Context, node string, frame []byte) error {
	return b.write(node, recordSuffix, frame, RecordSize)
}

func (b *fileBackend) ReadRecord(_ context.Context, node string) ([]byte, error) {
	return b.read(node, recordSuffix, RecordSize)
}

func (b *fileBackend) WriteMessage(_ context.Context, node string, frame []byte) error {
	return b.write(node, messageSuffix, frame, MessageSize)
}

func (b *fileBackend) ReadMessage(_ context.Context, node string) ([]byte, error) {
	return b.read(node, messageSuffix, MessageSize)
}

func (b *fileBackend) Hosts(_ context.Context) ([]string, error) {
	entries, err := os.ReadDir(b.spec.Path)
	if err != nil {
		return nil, err
	}
	var hosts []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), recordSuffix); ok && ValidNodeName(name) && e.Type().IsRegular() {
			hosts = append(hosts, name)
		}
	}
	sort.Strings(hosts)
	return hosts, nil
}

func (b *fileBackend) Close() error { return nil }
