package virtualdomain

import (
	"context"
	"errors"
	"io/fs"
	"time"

	"github.com/kvmha/kvmha/internal/agentlog"
	"github.com/kvmha/kvmha/internal/deadline"
	"github.com/kvmha/kvmha/internal/files"
	"github.com/kvmha/kvmha/internal/ocf"
)

// maxConfigSize bounds the domain XML read from disk; real ones are a few KiB.
const maxConfigSize = 4 << 20

// maxFileWait bounds each read of a file a parameter names. The config file
// often lives on shared storage (NFS, OCFS2): when that hangs, open and
// read block in the kernel, and the action must keep most of its time for
// what it can still do without the file (stop the domain this node's record
// names). A quarter of what is left, at most this.
const maxFileWait = 5 * time.Second

// fileWait is how long a read of a parameter's file may take within ctx.
func fileWait(ctx context.Context) time.Duration {
	return min(maxFileWait, deadline.Remaining(ctx)/4)
}

// domainFile is the domain XML of the resource as read from its config file.
type domainFile struct {
	path string
	raw  []byte
	cfg  *domainConfig
}

// readDomainFile is readDomainFile, read once per process: validation and
// the action both need it.
func (v *vd) readDomainFile(ctx context.Context, path string) (*domainFile, error) {
	c := &v.configRead
	if c.file == nil && c.err == nil || c.path != path {
		rctx, cancel := context.WithTimeout(ctx, fileWait(ctx))
		c.path = path
		c.file, c.err = readDomainFile(rctx, path)
		cancel()
	}
	return c.file, c.err
}

// readDomainFile reads and parses the config file within ctx. A missing,
// unreadable or hung file is ErrInstalled (the file is node-local, or on
// storage this node lacks); one that is not a regular file, too large or not
// a domain XML is a configuration error naming the parameter.
func readDomainFile(ctx context.Context, path string) (*domainFile, error) {
	raw, err := files.Read(ctx, path, maxConfigSize)
	if err != nil {
		return nil, fileError(pConfig, path, err)
	}
	cfg, err := parseDomainXML(raw)
	if err != nil {
		return nil, ocf.ParamErrorf(pConfig, "%s: %v", agentlog.Clip(path), err)
	}
	return &domainFile{path: path, raw: raw, cfg: cfg}, nil
}

// fileError describes a failed files.Read of the file parameter param
// names. What no node could use (a directory, a FIFO, a device, a file over
// the size limit) is a configuration error; what this node lacks (missing,
// unreadable, storage that does not answer) is ErrInstalled. Either way the
// reason starts with the parameter and quotes the path clipped.
func fileError(param, path string, err error) error {
	shown := agentlog.Clip(path)
	switch {
	case errors.Is(err, files.ErrNotRegular), errors.Is(err, files.ErrTooLarge):
		return ocf.ParamErrorf(param, "%s: %v", shown, files.Cause(err))
	case errors.Is(err, files.ErrTimedOut):
		return ocf.Errorf(ocf.ErrInstalled, "%s: %s could not be read in time (storage not answering?)", param, shown)
	case errors.Is(err, fs.ErrNotExist):
		return ocf.Errorf(ocf.ErrInstalled, "%s: %s does not exist", param, shown)
	}
	return ocf.Errorf(ocf.ErrInstalled, "%s: %s is not readable: %v", param, shown, files.Cause(err))
}
