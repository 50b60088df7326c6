package doctor

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// What the kernel's module files say: which modules are loaded
// (/proc/modules), built in (modules.builtin) or installed (modules.dep)
// for the running kernel, and which modprobe configuration stops from
// loading ("install NAME /bin/false" in modprobe.d, kernel.modules_disabled).
// Module names are compared with '-' as '_', as the kernel does.

// moduleIndex is the module files of the running kernel.
type moduleIndex struct {
	release  string
	dir      string            // /lib/modules/RELEASE
	dirErr   error             // why modules.dep could not be read
	dep      map[string]string // name → path relative to dir (modules.dep)
	builtin  map[string]bool
	loaded   map[string]bool
	rules    modprobeRules
	disabled bool // kernel.modules_disabled: nothing can be loaded any more
}

func moduleName(s string) string { return strings.ReplaceAll(s, "-", "_") }

// readModules reads the module files of the running kernel under root.
func (r Root) readModules() (*moduleIndex, error) {
	rel, err := r.kernelRelease()
	if err != nil {
		return nil, err
	}
	m := &moduleIndex{release: rel, dir: path.Join("/lib/modules", rel)}
	if data, err := r.read("/proc/modules"); err == nil {
		m.loaded = parseProcModules(string(data))
	}
	if v, err := r.readLine("/proc/sys/kernel/modules_disabled"); err == nil && v == "1" {
		m.disabled = true
	}
	dep, err := r.read(path.Join(m.dir, "modules.dep"))
	if err != nil {
		m.dirErr = err
	}
	m.dep = parseModuleList(string(dep))
	builtin, _ := r.read(path.Join(m.dir, "modules.builtin"))
	m.builtin = map[string]bool{}
	for name := range parseModuleList(string(builtin)) {
		m.builtin[name] = true
	}
	m.rules = r.readModprobeRules()
	return m, nil
}

// parseModuleList reads modules.dep or modules.builtin: one module per
// line, "kernel/drivers/block/nbd.ko.xz: dependencies..." or just the path.
// It returns each module's name and path.
func parseModuleList(text string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		p, _, _ := strings.Cut(line, ":")
		p = strings.TrimSpace(p)
		base := path.Base(p)
		name, _, ok := strings.Cut(base, ".ko")
		if !ok || name == "" || p == "" {
			continue
		}
		out[moduleName(name)] = p
	}
	return out
}

// parseProcModules reads /proc/modules: "nbd 61440 0 - Live 0x0...".
func parseProcModules(text string) map[string]bool {
	out := map[string]bool{}
	for _, line := range strings.Split(text, "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			out[moduleName(f[0])] = true
		}
	}
	return out
}

// modprobeRules are the modprobe.d lines that matter here.
type modprobeRules struct {
	install   map[string]modprobeRule // the first install command of each module
	blacklist map[string]modprobeRule
}

// modprobeRule is one line and where it is.
type modprobeRule struct {
	where   string // file:line
	command string // for install: the command
}

// modprobeDirs are kmod's configuration folders, most important first: a
// file in an earlier one hides a file of the same name in a later one.
var modprobeDirs = []string{"/etc/modprobe.d", "/run/modprobe.d", "/usr/local/lib/modprobe.d", "/usr/lib/modprobe.d", "/lib/modprobe.d"}

// readModprobeRules reads every *.conf of modprobeDirs in kmod's order
// (by file name; a name's first folder wins).
func (r Root) readModprobeRules() modprobeRules {
	files := map[string]string{} // base name → path
	for _, dir := range modprobeDirs {
		entries, err := os.ReadDir(r.path(dir))
		if err != nil {
			continue
		}
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".conf") {
				continue
			}
			if _, seen := files[e.Name()]; !seen {
				files[e.Name()] = path.Join(dir, e.Name())
			}
		}
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	rules := modprobeRules{install: map[string]modprobeRule{}, blacklist: map[string]modprobeRule{}}
	for _, n := range names {
		data, err := r.read(files[n])
		if err != nil {
			continue
		}
		parseModprobeConf(files[n], string(data), &rules)
	}
	return rules
}

// parseModprobeConf adds the install and blacklist lines of one modprobe.d
// file to rules. Lines starting with '#' are comments; a line ending in a
// backslash goes on on the next one.
func parseModprobeConf(file, text string, rules *modprobeRules) {
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		start := i
		line := lines[i]
		for strings.HasSuffix(line, "\\") && i+1 < len(lines) {
			i++
			line = strings.TrimSuffix(line, "\\") + " " + lines[i]
		}
		f := strings.Fields(line)
		if len(f) < 2 || strings.HasPrefix(f[0], "#") {
			continue
		}
		where := fmt.Sprintf("%s:%d", file, start+1)
		name := moduleName(f[1])
		switch f[0] {
		case "install":
			if _, seen := rules.install[name]; !seen && len(f) > 2 {
				rules.install[name] = modprobeRule{where: where, command: strings.Join(f[2:], " ")}
			}
		case "blacklist":
			if _, seen := rules.blacklist[name]; !seen {
				rules.blacklist[name] = modprobeRule{where: where}
			}
		}
	}
}

// blocks reports whether an install command stops the module from loading:
// the idiom "install NAME /bin/false" (or /bin/true, which pretends).
func (r modprobeRule) blocks() bool {
	f := strings.Fields(r.command)
	if len(f) == 0 {
		return false
	}
	switch filepath.Base(f[0]) {
	case "false", "true", "exit":
		return true
	}
	return false
}

// moduleState is what can be said of a module.
type moduleState int

const (
	modMissing   moduleState = iota // neither loaded, built in nor installed
	modBlocked                      // installed, but modprobe would not load it
	modAvailable                    // installed: modprobe loads it
	modBuiltin
	modLoaded
)

// ok says whether the module is usable (now or after a modprobe).
func (s moduleState) ok() bool { return s >= modAvailable }

// moduleReport is one module's state in words.
type moduleReport struct {
	name  string
	state moduleState
	what  string // "loaded", "installed (kernel/...ko.xz)", why it cannot load
}

func (m moduleReport) String() string { return m.name + " " + m.what }

// module tells one module's state; present is the module's own evidence
// that its code runs (a sysfs folder, a file system type), which also
// covers built-in code modules.builtin may not name.
func (m *moduleIndex) module(root Root, name string, present bool) moduleReport {
	n := moduleName(name)
	rep := moduleReport{name: name}
	switch {
	case present || m.loaded[n]:
		rep.state, rep.what = modLoaded, "loaded"
	case m.builtin[n]:
		rep.state, rep.what = modBuiltin, "built in"
	case m.disabled:
		rep.state, rep.what = modBlocked, "not loaded, and module loading is disabled (kernel.modules_disabled=1)"
	case m.rules.install[n].blocks():
		rule := m.rules.install[n]
		rep.state, rep.what = modBlocked, fmt.Sprintf("blocked: %s makes 'modprobe %s' run %q", rule.where, name, rule.command)
	case m.dep[n] != "":
		p := path.Join(m.dir, m.dep[n])
		if !root.exists(p) {
			rep.state, rep.what = modMissing, fmt.Sprintf("listed in modules.dep, but %s is gone", p)
			break
		}
		rep.state, rep.what = modAvailable, "installed (not loaded)"
		if b, ok := m.rules.blacklist[n]; ok {
			rep.what += fmt.Sprintf(", blacklisted in %s (loads only when asked by name)", b.where)
		}
	case m.dirErr != nil && errors.Is(m.dirErr, os.ErrNotExist):
		rep.state, rep.what = modMissing, fmt.Sprintf("missing (no %s)", path.Join(m.dir, "modules.dep"))
	case m.dirErr != nil:
		rep.state, rep.what = modMissing, fmt.Sprintf("unknown: %v", m.dirErr)
	default:
		rep.state, rep.what = modMissing, "missing (neither in modules.dep nor in modules.builtin)"
	}
	return rep
}

// moduleFix says how to get a missing or blocked module.
func (m *moduleIndex) moduleFix(root Root, rep moduleReport, alternative string) string {
	var fix string
	switch {
	case rep.state != modBlocked:
		switch dist := root.distribution(); dist {
		case distroUbuntu:
			fix = "apt install linux-modules-extra-" + m.release
		case distroDebian:
			fix = "apt install --reinstall linux-image-" + m.release
		default:
			fix = dist.install("", "kernel-modules-extra-"+m.release, "kernel-default-extra")
		}
		fix = fix + ", or boot a kernel that has " + rep.name
	case m.disabled:
		fix = "reboot (kernel.modules_disabled cannot be undone), and load " + rep.name + " before disabling module loading"
	default:
		fix = fmt.Sprintf("remove the line at %s, then modprobe %s", m.rules.install[moduleName(rep.name)].where, rep.name)
	}
	if alternative != "" {
		fix += "; " + alternative
	}
	return fix
}
