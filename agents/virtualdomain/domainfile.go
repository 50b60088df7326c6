package virtualdomain

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/kvmha/kvmha/internal/ocf"
)

// maxConfigSize bounds the domain XML read from disk; real ones are a few KiB.
const maxConfigSize = 4 << 20

// domainFile is the domain XML of the resource as read from its config file.
type domainFile struct {
	path string
	raw  []byte
	cfg  *domainConfig
}

// readDomainFile is readDomainFile, read once per process: validation and
// the action both need it.
func (v *vd) readDomainFile(path string) (*domainFile, error) {
	c := &v.configRead
	if c.file == nil && c.err == nil || c.path != path {
		c.path = path
		c.file, c.err = readDomainFile(path)
	}
	return c.file, c.err
}

// readDomainFile reads and parses the config file. A missing or unreadable
// file is ErrInstalled (the file is node-local, or on storage this node
// lacks), a file that is not a domain XML ErrConfigured.
func readDomainFile(path string) (*domainFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, ocf.Errorf(ocf.ErrInstalled, "configuration file %s does not exist or is not readable: %v", path, unwrapPathError(err))
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return nil, ocf.Errorf(ocf.ErrInstalled, "cannot read configuration file %s: %v", path, unwrapPathError(err))
	}
	if len(raw) > maxConfigSize {
		return nil, ocf.Errorf(ocf.ErrConfigured, "configuration file %s is larger than %d bytes", path, maxConfigSize)
	}
	cfg, err := parseDomainXML(raw)
	if err != nil {
		return nil, ocf.Errorf(ocf.ErrConfigured, "configuration file %s: %v", path, err)
	}
	return &domainFile{path: path, raw: raw, cfg: cfg}, nil
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// The agent remembers, per resource and node, which domain it last started
// (in HA_RSCTMP, emptied at boot). stop and monitor use it when the config
// file cannot be read: a guest started from a file on shared storage must
// not be declared stopped just because that storage went away. The UUID is
// the one libvirt gave the domain, which monitor uses when the config file
// names none: a handle built from name and UUID costs one round trip where a
// lookup by name costs two.

// rememberedDomain is the name and UUID of the domain a resource last ran.
type rememberedDomain struct {
	Name string
	UUID string
}

func (v *vd) memoryPath(req *ocf.Request) string {
	inst := strings.NewReplacer("/", "_", "\x00", "_").Replace(req.Instance())
	if inst == "" {
		inst = "unnamed"
	}
	return filepath.Join(v.stateDir, "kvmha-VirtualDomain-"+inst+".domain")
}

// remember records the running domain; failure only costs the fallback.
func (v *vd) remember(req *ocf.Request, name, uuid string) {
	data := fmt.Sprintf("%s\n%s\n", name, uuid)
	if err := v.writeState(v.memoryPath(req), []byte(data)); err != nil {
		req.Log.Debugf("cannot record the domain name: %v", err)
	}
}

// writeState writes one of the agent's files in HA_RSCTMP, creating it.
func (v *vd) writeState(path string, data []byte) error {
	if err := os.MkdirAll(v.stateDir, 0o755); err != nil {
		return err
	}
	return writeFileAtomic(path, data, 0o644)
}

func (v *vd) forget(req *ocf.Request) {
	if err := os.Remove(v.memoryPath(req)); err != nil && !errors.Is(err, os.ErrNotExist) {
		req.Log.Debugf("cannot remove %s: %v", v.memoryPath(req), err)
	}
}

// recall returns the domain recorded by remember, if any.
func (v *vd) recall(req *ocf.Request) (rememberedDomain, bool) {
	data, err := os.ReadFile(v.memoryPath(req))
	if err != nil {
		return rememberedDomain{}, false
	}
	name, rest, _ := strings.Cut(string(data), "\n")
	uuid, _, _ := strings.Cut(rest, "\n")
	if name == "" {
		return rememberedDomain{}, false
	}
	return rememberedDomain{Name: name, UUID: uuid}, true
}

// writeFileAtomic replaces path through a temporary file and a rename.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
