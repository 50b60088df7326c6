package doctor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/kvmha/kvmha/internal/agentlog"
	"github.com/kvmha/kvmha/internal/files"
)

// checkSystemdOrder: at shutdown systemd stops units in the reverse of
// their start order. Unless pacemaker.service starts after libvirtd (and
// virtlockd and virtlogd, which libvirtd's guests need), systemd may stop
// libvirtd while Pacemaker is still migrating the guests away: they are
// killed instead. The order is read from the unit files, as systemd would
// compute it (see unitGraph); nothing is asked of systemctl, which a host
// without systemd as PID 1 (a container, this project's lab) cannot answer.
func (d *Doctor) checkSystemdOrder(ctx context.Context) Result {
	// A unit file the check cannot read is one systemd may not read either,
	// or one that is not what it seems (a FIFO, a file of megabytes).
	const unreadable = "look at that file: units are regular files of a few KiB (the check reads at most 64 KiB of one)"
	g := newUnitGraph(d.Root)
	pcmk, err := g.load(ctx, pacemakerUnit)
	if err != nil {
		return fail(unreadable, "%v", err)
	}
	if pcmk.file == "" {
		if pcmk.masked {
			return skip("pacemaker.service is masked")
		}
		return skip("no pacemaker.service unit file: Pacemaker is not installed here")
	}
	// The units the guests need, where they exist. virtqemud is libvirt's
	// modular daemon, which runs the guests where it replaces libvirtd.
	var need []string
	for _, u := range []string{"libvirtd.service", "virtqemud.service", "virtlockd.service", "virtlogd.service"} {
		info, err := g.load(ctx, u)
		if err != nil {
			return fail(unreadable, "%v", err)
		}
		if info.file != "" {
			need = append(need, u)
		}
	}
	if !slices.Contains(need, "libvirtd.service") && !slices.Contains(need, "virtqemud.service") {
		return skip("no libvirtd.service (nor virtqemud.service) unit file: libvirt is not installed here")
	}
	g.explore(ctx, append([]string{pacemakerUnit}, need...))
	if err := ctx.Err(); err != nil {
		return fail("find what hangs reading the unit files, or raise --timeout", "reading the unit files: %v", err)
	}
	booted := ""
	if !d.Root.exists("/run/systemd/system") {
		booted = " (judged from the unit files: this host did not boot with systemd, /run/systemd/system is missing)"
	}
	var found, missing []string
	for _, u := range need {
		if path := g.orderedAfter(pacemakerUnit, u); path != nil {
			found = append(found, describeOrder(u, path))
		} else {
			missing = append(missing, u)
		}
	}
	if len(missing) == 0 {
		return pass("pacemaker.service after %s%s", strings.Join(found, "; "), booted)
	}
	dropIn := "/etc/systemd/system/pacemaker.service.d/kvmha-libvirt.conf"
	fix := fmt.Sprintf("mkdir -p %s && printf '[Unit]\\nAfter=%s\\n' > %s && systemctl daemon-reload",
		filepath.Dir(dropIn), strings.Join(need, " "), dropIn)
	incomplete := ""
	if g.truncated != "" {
		incomplete = " (" + g.truncated + ": an ordering through the units not read would not be seen)"
	}
	detail := fmt.Sprintf("pacemaker.service is not ordered after %s: at shutdown systemd may stop %s while Pacemaker still moves the guests away, "+
		"and they are killed instead%s%s", strings.Join(missing, ", "), strings.Join(missing, " and "), incomplete, booted)
	if g.truncated != "" {
		return warn(fix, "%s", detail)
	}
	return fail(fix, "%s", detail)
}

// pacemakerUnit is the unit whose order the check judges.
const pacemakerUnit = "pacemaker.service"

// describeOrder says how pacemaker.service comes after u: directly, or
// through the units of path (the first step is pacemaker.service's own),
// naming the file of every step.
func describeOrder(u string, path []orderStep) string {
	var via []string
	for _, s := range path {
		if s.to != u {
			via = append(via, s.to)
		}
	}
	var srcs []string
	for _, s := range path {
		if !slices.Contains(srcs, s.file) {
			srcs = append(srcs, s.file)
		}
	}
	if len(via) == 0 {
		return fmt.Sprintf("%s (%s)", u, strings.Join(srcs, ", "))
	}
	return fmt.Sprintf("%s (via %s; %s)", u, strings.Join(via, ", "), strings.Join(srcs, ", "))
}

// Limits of the unit files read: units are small (pacemaker.service is
// 4 KiB), and a host has a few hundred; a hostile tree (a unit of
// gigabytes, ten thousand drop-ins, cycles of symlinks) must cost little.
const (
	maxUnitFileLen   = 64 << 10
	maxUnits         = 1024
	maxDropInsOfUnit = 64
	maxUnitBytes     = 16 << 20
	maxUnitLinks     = 8
	maxUnitNameLen   = 255
	// maxDirEntries bounds the names listed of one drop-in folder, before
	// they are sorted and the first maxDropInsOfUnit *.conf kept.
	maxDirEntries = 4096
)

// unitSearchPath is where systemd looks for units, the most important first:
// the administrator's, the runtime's, then the packages' (/lib is /usr/lib
// on merged-/usr systems; both are looked at for the others).
func unitSearchPath() []string {
	return []string{"/etc/systemd/system", "/run/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system"}
}

// orderRef is one unit named in an After= or Before= line, and where.
type orderRef struct{ unit, file string }

// unitInfo is what the check knows of one unit.
type unitInfo struct {
	file   string // the unit file read ("" when there is none)
	masked bool   // linked to /dev/null, or empty
	after  []orderRef
	before []orderRef
}

// orderStep is one "from starts after to" edge, and the file that says so.
type orderStep struct{ from, to, file string }

// unitGraph holds the units read and the ordering edges between them:
// after[a] lists the units a starts after, from a's After= or from their
// own Before=a.
type unitGraph struct {
	root      Root
	units     map[string]*unitInfo
	after     map[string][]orderStep
	bytes     int
	truncated string // why the reading stopped short, "" when it did not
}

func newUnitGraph(root Root) *unitGraph {
	return &unitGraph{root: root, units: map[string]*unitInfo{}, after: map[string][]orderStep{}}
}

// explore reads the units named from start on, in both directions (every
// unit an After= or Before= of a read unit names is read in turn), until
// none is left or a bound is reached. An ordering through a unit that no
// read unit names (its own Before= pointing into the graph) is not seen:
// reading every unit of the host instead would cost far more for a case
// no package makes.
func (g *unitGraph) explore(ctx context.Context, start []string) {
	queue := append([]string{}, start...)
	seen := map[string]bool{}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		if seen[u] {
			continue
		}
		seen[u] = true
		if ctx.Err() != nil {
			g.truncated = "the check's time ran out"
			return
		}
		if len(g.units) >= maxUnits && g.units[u] == nil {
			g.truncated = fmt.Sprintf("stopped after %d units", maxUnits)
			return
		}
		if g.bytes > maxUnitBytes {
			g.truncated = fmt.Sprintf("stopped after %d bytes of unit files", maxUnitBytes)
			return
		}
		info, err := g.load(ctx, u)
		if err != nil {
			continue // an unreadable unit adds no edge; the verdict says what was found
		}
		for _, r := range info.after {
			queue = append(queue, r.unit)
		}
		for _, r := range info.before {
			queue = append(queue, r.unit)
		}
	}
}

// load reads unit u once (its file and drop-ins) and adds its edges.
func (g *unitGraph) load(ctx context.Context, u string) (*unitInfo, error) {
	if info := g.units[u]; info != nil {
		return info, nil
	}
	info := &unitInfo{}
	g.units[u] = info
	if !validUnitName(u) {
		return info, nil
	}
	var after, before []orderRef
	file, masked, err := g.unitFile(u)
	if err != nil {
		return info, err
	}
	info.file, info.masked = file, masked
	if file != "" {
		data, err := g.read(ctx, file)
		if err != nil {
			return info, err
		}
		after, before = parseUnitOrdering(file, data, after, before)
	}
	if masked {
		return info, nil // a masked unit is never started: it orders nothing
	}
	dropIns, err := g.dropIns(u)
	if err != nil {
		return info, err
	}
	for _, p := range dropIns {
		data, err := g.read(ctx, p)
		if err != nil {
			return info, err
		}
		after, before = parseUnitOrdering(p, data, after, before)
	}
	info.after, info.before = after, before
	for _, r := range after {
		g.after[u] = append(g.after[u], orderStep{from: u, to: r.unit, file: r.file})
	}
	for _, r := range before {
		g.after[r.unit] = append(g.after[r.unit], orderStep{from: r.unit, to: u, file: r.file})
	}
	return info, nil
}

// read returns a unit file's content, bounded, counting what was read.
func (g *unitGraph) read(ctx context.Context, p string) (string, error) {
	data, err := files.Read(ctx, g.root.path(p), maxUnitFileLen)
	if err != nil {
		return "", fmt.Errorf("%s: %w", p, files.Cause(err))
	}
	g.bytes += len(data)
	return string(data), nil
}

// unitFile finds u's file on the search path: the first one wins. A
// template instance (getty@tty1.service) uses its template's file when it
// has none of its own.
func (g *unitGraph) unitFile(u string) (file string, masked bool, err error) {
	names := []string{u}
	if t := templateOf(u); t != "" {
		names = append(names, t)
	}
	for _, name := range names {
		for _, dir := range unitSearchPath() {
			p, masked, err := g.root.resolveIn(filepath.Join(dir, name))
			switch {
			case errors.Is(err, fs.ErrNotExist):
				continue
			case err != nil:
				return "", false, err
			case masked:
				return "", true, nil
			}
			st, err := os.Stat(g.root.path(p))
			if err == nil && st.Mode().IsRegular() && st.Size() == 0 {
				return "", true, nil // an empty unit file masks too
			}
			return p, false, nil
		}
	}
	return "", false, nil
}

// dropIns lists u's drop-ins (*.conf in u.d/ and in its prefix and type
// folders, of every folder of the search path) in the order systemd
// applies them: by file name; of two files of the same name, the one in
// the more important folder replaces the other (a link to /dev/null then
// removes it).
func (g *unitGraph) dropIns(u string) ([]string, error) {
	chosen := map[string]string{} // file name -> path, "" when masked
	for _, dir := range unitSearchPath() {
		for _, sub := range dropInDirs(u) {
			names, err := g.root.listDir(filepath.Join(dir, sub), maxDirEntries)
			if err != nil {
				return nil, err
			}
			for _, n := range names {
				if !strings.HasSuffix(n, ".conf") {
					continue
				}
				if _, taken := chosen[n]; taken {
					continue
				}
				p, masked, err := g.root.resolveIn(filepath.Join(dir, sub, n))
				if errors.Is(err, fs.ErrNotExist) {
					continue // a dangling link
				}
				if err != nil {
					return nil, err
				}
				if masked {
					p = ""
				}
				chosen[n] = p
			}
		}
	}
	names := make([]string, 0, len(chosen))
	for n, p := range chosen {
		if p != "" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	if len(names) > maxDropInsOfUnit {
		names = names[:maxDropInsOfUnit]
	}
	paths := make([]string, len(names))
	for i, n := range names {
		paths[i] = chosen[n]
	}
	return paths, nil
}

// dropInDirs are the folders whose drop-ins apply to u, the most specific
// first: u.d, then for a-b-c.service a-b-.service.d and a-.service.d, then
// service.d (systemd 246 and later).
func dropInDirs(u string) []string {
	dirs := []string{u + ".d"}
	if t := templateOf(u); t != "" {
		dirs = append(dirs, t+".d")
	}
	dot := strings.LastIndexByte(u, '.')
	if dot <= 0 {
		return dirs
	}
	name, typ := u[:dot], u[dot:]
	for i := len(name) - 1; i > 0; i-- {
		if name[i] == '-' {
			dirs = append(dirs, name[:i+1]+typ+".d")
		}
	}
	return append(dirs, typ[1:]+".d")
}

// templateOf is the template of an instance ("getty@.service" for
// "getty@tty1.service"), "" for other units.
func templateOf(u string) string {
	at, dot := strings.IndexByte(u, '@'), strings.LastIndexByte(u, '.')
	if at <= 0 || dot < at+2 {
		return ""
	}
	return u[:at+1] + u[dot:]
}

// validUnitName keeps names systemd could have: letters, digits and
// ":-_.\\@" (which makes them safe to look up as files), not "." or "..",
// with a type suffix, at most systemd's 255 bytes.
func validUnitName(u string) bool {
	if u == "" || len(u) > maxUnitNameLen || u == "." || u == ".." || !strings.Contains(u, ".") {
		return false
	}
	for _, c := range u {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(":-_.\\@", c)) {
			return false
		}
	}
	return true
}

// orderedAfter returns a chain of edges by which a starts after b, the
// shortest one, or nil when none is known.
func (g *unitGraph) orderedAfter(a, b string) []orderStep {
	prev := map[string]orderStep{}
	seen := map[string]bool{a: true}
	queue := []string{a}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		for _, s := range g.after[u] {
			if seen[s.to] {
				continue
			}
			seen[s.to] = true
			prev[s.to] = s
			if s.to == b {
				var path []orderStep
				for v := b; v != a; v = prev[v].from {
					path = append([]orderStep{prev[v]}, path...)
				}
				return path
			}
			queue = append(queue, s.to)
		}
	}
	return nil
}

// parseUnitOrdering applies one unit file's After= and Before= lines (of
// its [Unit] section) to the lists read so far, as systemd does: the
// values are unit names separated by blanks, every line adds to the list,
// and an empty assignment empties it. A line ending in a backslash goes on
// on the next one; lines starting with # or ; are comments.
func parseUnitOrdering(file, data string, after, before []orderRef) ([]orderRef, []orderRef) {
	section := ""
	lines := strings.Split(data, "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(strings.TrimSuffix(lines[i], "\r"))
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		for strings.HasSuffix(line, "\\") && i+1 < len(lines) {
			i++
			next := strings.TrimSpace(strings.TrimSuffix(lines[i], "\r"))
			if next != "" && (next[0] == '#' || next[0] == ';') {
				next = "" // systemd skips comment lines inside a continuation
			}
			line = strings.TrimSuffix(line, "\\") + " " + next
		}
		if line = strings.TrimSpace(strings.TrimSuffix(line, "\\")); line == "" {
			continue
		}
		if line[0] == '[' {
			if end := strings.IndexByte(line, ']'); end > 0 {
				section = line[1:end]
			}
			continue
		}
		if section != "Unit" {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		var list *[]orderRef
		switch strings.TrimSpace(key) {
		case "After":
			list = &after
		case "Before":
			list = &before
		default:
			continue
		}
		words := strings.Fields(value)
		if len(words) == 0 {
			*list = nil
			continue
		}
		for _, w := range words {
			w = strings.Trim(w, `"'`)
			if validUnitName(w) {
				*list = append(*list, orderRef{unit: w, file: file})
			}
		}
	}
	return after, before
}

// resolveIn follows p's symbolic links inside the root (an absolute target
// is taken under the root too, as systemd would see it from there), at
// most maxUnitLinks of them. masked is true for a link to /dev/null.
func (r Root) resolveIn(p string) (real string, masked bool, err error) {
	for range maxUnitLinks {
		st, err := os.Lstat(r.path(p))
		if err != nil {
			return "", false, err
		}
		if st.Mode()&fs.ModeSymlink == 0 {
			return p, false, nil
		}
		t, err := os.Readlink(r.path(p))
		if err != nil {
			return "", false, err
		}
		if !filepath.IsAbs(t) {
			t = filepath.Join(filepath.Dir(p), t)
		}
		if t = filepath.Clean(t); t == "/dev/null" {
			return "", true, nil
		}
		p = t
	}
	return "", false, fmt.Errorf("%s: more than %d symbolic links", agentlog.Clip(p), maxUnitLinks)
}

// listDir returns up to limit names in a folder, none when it does not
// exist (or is no folder).
func (r Root) listDir(dir string, limit int) ([]string, error) {
	f, err := os.Open(r.path(dir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.IsDir() {
		return nil, nil
	}
	names, err := f.Readdirnames(limit)
	if err != nil && len(names) == 0 && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return names, nil
}
