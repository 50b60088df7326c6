package doctor

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
)

// How doctor proves that qemu (libvirt's emulator, and qemu-img) can open
// rbd: disks, without starting it. qemu's rbd driver is either linked in
// (the binary needs librbd.so.1) or a module, block-rbd.so, that qemu
// loads from its module directory at the first rbd: disk: Debian and
// Ubuntu ship it in qemu-block-extra, Red Hat in qemu-kvm-block-rbd, SUSE
// in qemu-block-rbd. qemu looks for modules in the directory compiled into
// it (CONFIG_QEMU_MODDIR, a string in the binary) and beside the binary,
// and loads only a module whose qemu_stamp_<hash> symbol matches the
// stamp compiled into the binary (a module of another qemu build is
// refused). All of this is in the ELF files: doctor reads the binary's
// needed libraries and read-only strings and the module's dynamic symbols
// and needed libraries, and looks for librbd and librados where the dynamic
// loader would. A QMP probe (starting the emulator and adding an rbd block
// node) would prove the same at the cost of a qemu process per run, and
// would need a reachable cluster to tell "no driver" from "no cluster".

// qemuBinary is what an emulator or qemu-img says about its rbd support.
type qemuBinary struct {
	needed     []string
	stamp      string   // "qemu_stamp_<hash>"; "" in builds without modules
	moduleDirs []string // absolute paths ending in /qemu found among its strings
}

// maxRodata bounds the read-only data scanned for strings (qemu-system's
// is a few MiB).
const maxRodata = 64 << 20

func (r Root) readQemuBinary(path string) (qemuBinary, error) {
	f, err := openELF(r.path(path))
	if err != nil {
		return qemuBinary{}, err
	}
	defer f.Close()
	var q qemuBinary
	if q.needed, err = f.ImportedLibraries(); err != nil {
		return q, err
	}
	if sec := f.Section(".rodata"); sec != nil && sec.Size <= maxRodata {
		data, err := sec.Data()
		if err != nil {
			return q, err
		}
		q.stamp, q.moduleDirs = scanQemuStrings(data)
	}
	return q, nil
}

const stampPrefix = "qemu_stamp_"

// scanQemuStrings finds, among the NUL-terminated strings of a qemu
// binary's read-only data, its module stamp and the absolute directories
// ending in /qemu (its module directory).
func scanQemuStrings(data []byte) (stamp string, dirs []string) {
	for len(data) > 0 {
		end := bytes.IndexByte(data, 0)
		if end < 0 {
			end = len(data)
		}
		s := data[:end]
		data = data[min(end+1, len(data)):]
		switch {
		case stamp == "" && bytes.HasPrefix(s, []byte(stampPrefix)) && len(s) > len(stampPrefix) && len(s) <= 128 &&
			isHex(s[len(stampPrefix):]):
			stamp = string(s)
		case len(s) > len("/qemu") && len(s) <= 256 && s[0] == '/' && bytes.HasSuffix(s, []byte("/qemu")) &&
			isPathText(s) && !slices.Contains(dirs, string(s)):
			dirs = append(dirs, string(s))
		}
	}
	return stamp, dirs
}

func isHex(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func isPathText(b []byte) bool {
	for _, c := range b {
		if c <= ' ' || c >= 0x7f || c == '%' {
			return false
		}
	}
	return true
}

// openELF opens an ELF file, saying so when the file is something else.
func openELF(path string) (*elf.File, error) {
	f, err := elf.Open(path)
	var fe *elf.FormatError
	if errors.As(err, &fe) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("not an ELF file (%v)", err)
	}
	return f, err
}

// qemuModule is what a block-rbd.so says about itself.
type qemuModule struct {
	needed  []string
	symbols map[string]bool
}

func (r Root) readQemuModule(path string) (qemuModule, error) {
	f, err := openELF(r.path(path))
	if err != nil {
		return qemuModule{}, err
	}
	defer f.Close()
	m := qemuModule{symbols: map[string]bool{}}
	if m.needed, err = f.ImportedLibraries(); err != nil {
		return m, err
	}
	syms, err := f.DynamicSymbols()
	if err != nil {
		return m, err
	}
	for _, s := range syms {
		if s.Section != elf.SHN_UNDEF {
			m.symbols[s.Name] = true
		}
	}
	return m, nil
}

// libDirs are where the dynamic loader finds libraries on the distributions
// kvmha supports (besides the multiarch folder of the module itself).
var libDirs = []string{"/lib64", "/usr/lib64", "/lib", "/usr/lib", "/usr/local/lib"}

// findLib looks for a shared library the way ld.so would on these hosts;
// near is a folder the library may be beside (the module's parent, which
// is the multiarch library folder on Debian).
func (r Root) findLib(lib, near string) string {
	dirs := []string{near}
	if triplet := filepath.Base(near); strings.Contains(triplet, "-linux-") {
		dirs = append(dirs, "/lib/"+triplet, "/usr/lib/"+triplet)
	}
	for _, d := range append(dirs, libDirs...) {
		if p := filepath.Join(d, lib); r.exists(p) {
			return p
		}
	}
	return ""
}

// rbdModule is qemu's rbd module file.
const rbdModule = "block-rbd.so"

// rbdSupport checks that the qemu binary at path can open rbd: images.
func (d *Doctor) rbdSupport(path, who string) Result {
	q, err := d.Root.readQemuBinary(path)
	if err != nil {
		return fail("reinstall qemu", "%s %s: %v", who, path, err)
	}
	if slices.ContainsFunc(q.needed, func(l string) bool { return strings.HasPrefix(l, "librbd.so") }) {
		return pass("%s %s has the rbd driver built in (links librbd)", who, path)
	}
	dirs := q.moduleDirs
	if !slices.Contains(dirs, filepath.Dir(path)) {
		dirs = append(dirs, filepath.Dir(path))
	}
	dist := d.Root.distribution()
	installFix := dist.install("qemu-block-extra", "qemu-kvm-block-rbd", "qemu-block-rbd")
	var refused []string
	for _, dir := range dirs {
		mod := filepath.Join(dir, rbdModule)
		if !d.Root.exists(mod) {
			continue
		}
		m, err := d.Root.readQemuModule(mod)
		if err != nil {
			refused = append(refused, fmt.Sprintf("%s: %v", mod, err))
			continue
		}
		if q.stamp != "" && !m.symbols[q.stamp] {
			refused = append(refused, fmt.Sprintf("%s is from another qemu build (it lacks %s, so qemu refuses it)", mod, q.stamp))
			continue
		}
		var libs, missing []string
		for _, lib := range m.needed {
			if !strings.HasPrefix(lib, "librbd.so") && !strings.HasPrefix(lib, "librados.so") {
				continue
			}
			if p := d.Root.findLib(lib, filepath.Dir(dir)); p != "" {
				libs = append(libs, p)
			} else {
				missing = append(missing, lib)
			}
		}
		if len(missing) > 0 {
			return fail(dist.install("librbd1", "librbd1", "librbd1"),
				"%s %s has the rbd module %s, but it needs %s, which is not installed", who, path, mod, strings.Join(missing, " and "))
		}
		return pass("%s %s loads rbd from %s (stamp matches; %s)", who, path, mod, strings.Join(libs, ", "))
	}
	if len(refused) > 0 {
		return fail("install the rbd module of the same qemu version as the emulator ("+installFix+", and upgrade qemu with it)",
			"%s %s cannot load rbd: %s", who, path, strings.Join(refused, "; "))
	}
	return fail(installFix, "%s %s has no rbd driver: no %s in %s", who, path, rbdModule, strings.Join(dirs, " or "))
}

// checkQemuRBD: the emulator libvirt runs can open rbd: disks.
func (d *Doctor) checkQemuRBD(ctx context.Context) Result {
	info, err := d.libvirt(ctx)
	if err != nil {
		return d.dependent("libvirt", fail(d.libvirtFix(), "cannot learn libvirt's emulator: %v", err))
	}
	return d.rbdSupport(info.Emulator, "libvirt's qemu")
}

// checkQemuImgRBD: qemu-img can open rbd: images.
func (d *Doctor) checkQemuImgRBD(context.Context) Result {
	path := d.Root.lookPath("qemu-img")
	if path == "" {
		return fail(d.Root.distribution().install("qemu-utils", "qemu-img", "qemu-tools"), "no qemu-img in %s", strings.Join(binDirs, ":"))
	}
	return d.rbdSupport(path, "qemu-img")
}
