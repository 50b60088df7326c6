package o2cb

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kvmha/kvmha/internal/ocf"
)

// The kernel pieces O2CB needs. ocfs2_stack_o2cb pulls in the node manager
// (which registers configfs' "cluster" subsystem), the o2dlm and the stack
// glue; ocfs2_dlmfs is the lock file system ocfs2-tools use. The ocfs2 file
// system module itself is loaded by the kernel at the first mount.
var neededModules = []string{"configfs", "ocfs2_stack_o2cb", "ocfs2_dlmfs"}

// loaded reports whether a needed module's function is present - by what it
// provides, not by /sys/module, so that built-in code counts too.
func (s *deps) loaded(module string) bool {
	switch module {
	case "configfs", "ocfs2_dlmfs":
		return s.hasFilesystem(module)
	case "ocfs2_stack_o2cb":
		data, err := os.ReadFile(s.sysfs("fs/ocfs2/loaded_cluster_plugins"))
		return err == nil && slices.Contains(strings.Fields(string(data)), "o2cb")
	}
	return false
}

// hasFilesystem looks the type up in /proc/filesystems ("nodev\tconfigfs").
func (s *deps) hasFilesystem(fstype string) bool {
	data, err := os.ReadFile(s.proc("filesystems"))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && f[len(f)-1] == fstype {
			return true
		}
	}
	return false
}

// missingModules lists the needed modules whose function is not there, the
// same way for start, which loads them, and validate-all, which checks that
// start could.
func (s *deps) missingModules() []string {
	var missing []string
	for _, m := range neededModules {
		if !s.loaded(m) {
			missing = append(missing, m)
		}
	}
	return missing
}

// ensureModules loads what is missing with one modprobe call.
func (s *deps) ensureModules(ctx context.Context, log *ocf.Logger) error {
	missing := s.missingModules()
	if len(missing) == 0 {
		return nil
	}
	log.Infof("loading kernel modules %s", strings.Join(missing, " "))
	if err := s.modprobe(ctx, missing...); err != nil {
		if ctx.Err() != nil {
			return err
		}
		return ocf.Errorf(ocf.ErrInstalled, "cannot load the O2CB kernel modules: %v", err)
	}
	for _, m := range missing {
		if !s.loaded(m) {
			return ocf.Errorf(ocf.ErrInstalled, "module %s loaded but its function is missing (is OCFS2 built without O2CB?)", m)
		}
	}
	return nil
}

// checkModulesAvailable tells validate-all whether start could load the
// modules, without loading anything: each is loaded already, built in, or
// listed in modules.dep of the running kernel.
func (s *deps) checkModulesAvailable() error {
	missing := s.missingModules()
	if len(missing) == 0 {
		return nil
	}
	release := s.release()
	dir := filepath.Join(s.modulesDir, release)
	dep, derr := os.ReadFile(filepath.Join(dir, "modules.dep"))
	builtin, berr := os.ReadFile(filepath.Join(dir, "modules.builtin"))
	if release == "" || errors.Is(derr, fs.ErrNotExist) && errors.Is(berr, fs.ErrNotExist) {
		return ocf.Errorf(ocf.ErrInstalled, "no modules for the running kernel %s in %s", release, s.modulesDir)
	}
	for _, m := range missing {
		if !listsModule(string(dep), m) && !listsModule(string(builtin), m) {
			return ocf.Errorf(ocf.ErrInstalled, "kernel module %s is neither loaded nor installed for kernel %s", m, release)
		}
	}
	return nil
}

// listsModule finds "path/name.ko[.xz|.zst|.gz]" at the start of a line of
// modules.dep or modules.builtin ("-" and "_" are the same in module names).
func listsModule(list, module string) bool {
	norm := func(s string) string { return strings.ReplaceAll(s, "-", "_") }
	for _, line := range strings.Split(list, "\n") {
		path, _, _ := strings.Cut(line, ":")
		base := filepath.Base(strings.TrimSpace(path))
		name, _, ok := strings.Cut(base, ".ko")
		if ok && norm(name) == module {
			return true
		}
	}
	return false
}
