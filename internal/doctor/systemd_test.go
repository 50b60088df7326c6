package doctor

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// The ordering lines of Debian 12's units (pacemaker 2.1.5, libvirt 9.0,
// resource-agents 4.12), the rest of the files left out.
const (
	debPacemaker = `[Unit]
Description=Pacemaker High Availability Cluster Manager
# comment with After=libvirtd.service, which is no setting
After=network.target
After=time-sync.target
After=dbus.service
Wants=dbus.service
After=resource-agents-deps.target
Wants=resource-agents-deps.target
After=syslog.service
After=rsyslog.service
After=corosync.service
Requires=corosync.service

[Install]
WantedBy=multi-user.target

[Service]
Type=simple
ExecStart=/usr/sbin/pacemakerd
`
	debLibvirtd = `[Unit]
Description=Virtualization daemon
Requires=virtlogd.socket
Requires=virtlockd.socket
Wants=libvirtd.socket
Wants=systemd-machined.service
Before=libvirt-guests.service
After=network.target
After=dbus.service
After=iscsid.service
After=apparmor.service
After=local-fs.target
After=remote-fs.target
After=systemd-logind.service
After=systemd-machined.service
After=xencommons.service
Conflicts=xendomains.service

[Service]
Type=notify
ExecStart=/usr/sbin/libvirtd $LIBVIRTD_ARGS
`
	debVirtlockd = `[Unit]
Description=Virtual machine lock manager
Requires=virtlockd.socket
Requires=virtlockd-admin.socket
Before=libvirtd.service

[Service]
ExecStart=/usr/sbin/virtlockd
`
	debVirtlogd = `[Unit]
Description=Virtual machine log manager
Requires=virtlogd.socket
Requires=virtlogd-admin.socket
Before=libvirtd.service

[Service]
ExecStart=/usr/sbin/virtlogd
`
	debResourceAgentsDeps = "[Unit]\nDescription=resource-agents dependencies\n"
)

// debianUnits is a Debian 12 host with Pacemaker and libvirt, booted with
// systemd; extra adds or replaces files ("" removes one).
func debianUnits(t *testing.T, extra map[string]string) Root {
	t.Helper()
	files := map[string]string{
		"/lib/systemd/system/pacemaker.service":           debPacemaker,
		"/lib/systemd/system/libvirtd.service":            debLibvirtd,
		"/lib/systemd/system/virtlockd.service":           debVirtlockd,
		"/lib/systemd/system/virtlogd.service":            debVirtlogd,
		"/lib/systemd/system/resource-agents-deps.target": debResourceAgentsDeps,
		"/lib/systemd/system/network.target":              "[Unit]\nDescription=Network\nAfter=network-pre.target\n",
		"/run/systemd/system/.keep":                       "",
	}
	for k, v := range extra {
		if v == "" {
			delete(files, k)
			continue
		}
		files[k] = v
	}
	return fakeTree(t, files)
}

func orderDoctor(root Root) *Doctor { return testDoctor(root, nil, nil, nil) }

func TestSystemdOrder(t *testing.T) {
	const wantFix = "mkdir -p /etc/systemd/system/pacemaker.service.d && printf '[Unit]\\nAfter=libvirtd.service virtlockd.service virtlogd.service\\n' " +
		"> /etc/systemd/system/pacemaker.service.d/kvmha-libvirt.conf && systemctl daemon-reload"
	kvmhaDropIn := "[Unit]\nAfter=libvirtd.service virtlockd.service virtlogd.service\n"
	for _, tc := range []struct {
		name   string
		extra  map[string]string
		status Status
		detail string
		fix    string
	}{
		{"Debian as installed", nil, Fail,
			"pacemaker.service is not ordered after libvirtd.service, virtlockd.service, virtlogd.service: at shutdown", wantFix},
		{"the fix's drop-in", map[string]string{"/etc/systemd/system/pacemaker.service.d/kvmha-libvirt.conf": kvmhaDropIn}, Pass,
			"pacemaker.service after libvirtd.service (/etc/systemd/system/pacemaker.service.d/kvmha-libvirt.conf)", ""},
		{"through resource-agents-deps.target", map[string]string{
			"/run/systemd/system/resource-agents-deps.target.d/libvirt.conf": "[Unit]\nAfter=libvirtd.service\n"}, Pass,
			"libvirtd.service (via resource-agents-deps.target; /lib/systemd/system/pacemaker.service, /run/systemd/system/resource-agents-deps.target.d/libvirt.conf)", ""},
		{"virtlockd through libvirtd's Before", map[string]string{
			"/run/systemd/system/resource-agents-deps.target.d/libvirt.conf": "[Unit]\nAfter=libvirtd.service\n"}, Pass,
			"virtlockd.service (via resource-agents-deps.target, libvirtd.service; /lib/systemd/system/pacemaker.service, " +
				"/run/systemd/system/resource-agents-deps.target.d/libvirt.conf, /lib/systemd/system/virtlockd.service)", ""},
		{"libvirtd Before=pacemaker", map[string]string{
			"/etc/systemd/system/libvirtd.service.d/order.conf": "[Unit]\nBefore=pacemaker.service\n"}, Pass,
			"libvirtd.service (/etc/systemd/system/libvirtd.service.d/order.conf)", ""},
		{"a unit's Before into the chain", map[string]string{
			"/etc/systemd/system/libvirtd.service.d/order.conf": "[Unit]\nBefore=resource-agents-deps.target\n"}, Pass,
			"libvirtd.service (via resource-agents-deps.target;", ""},
		{"continued line", map[string]string{
			"/etc/systemd/system/pacemaker.service.d/k.conf": "[Unit]\nAfter=network.target \\\n  libvirtd.service \\\n# a comment\n virtlogd.service\n"}, Pass,
			"pacemaker.service after libvirtd.service", ""},
		{"a later drop-in empties After", map[string]string{
			"/etc/systemd/system/pacemaker.service.d/50-kvmha.conf": kvmhaDropIn,
			"/run/systemd/system/pacemaker.service.d/90-reset.conf": "[Unit]\nAfter=\nAfter=corosync.service\n"}, Fail,
			"not ordered after libvirtd.service", wantFix},
		{"an earlier drop-in's After is kept", map[string]string{
			"/etc/systemd/system/pacemaker.service.d/90-kvmha.conf": kvmhaDropIn,
			"/run/systemd/system/pacemaker.service.d/10-reset.conf": "[Unit]\nAfter=\n"}, Pass,
			"pacemaker.service after libvirtd.service (/etc/systemd/system/pacemaker.service.d/90-kvmha.conf)", ""},
		{"/etc replaces a drop-in of the same name", map[string]string{
			"/run/systemd/system/pacemaker.service.d/kvmha.conf": kvmhaDropIn,
			"/etc/systemd/system/pacemaker.service.d/kvmha.conf": "[Unit]\nDescription=nothing\n"}, Fail,
			"not ordered after", wantFix},
		{"/etc masks a drop-in", map[string]string{
			"/lib/systemd/system/pacemaker.service.d/kvmha.conf": kvmhaDropIn,
			"/etc/systemd/system/pacemaker.service.d/kvmha.conf": "->/dev/null"}, Fail,
			"not ordered after", wantFix},
		{"a drop-in outside [Unit] is no ordering", map[string]string{
			"/etc/systemd/system/pacemaker.service.d/kvmha.conf": "[Service]\nAfter=libvirtd.service\n"}, Fail,
			"not ordered after", wantFix},
		{"/etc's unit file replaces the package's", map[string]string{
			"/lib/systemd/system/pacemaker.service.d/kvmha.conf": kvmhaDropIn + "[Service]\n",
			"/etc/systemd/system/pacemaker.service":              "[Unit]\nAfter=corosync.service\n"}, Pass,
			"pacemaker.service after libvirtd.service (/lib/systemd/system/pacemaker.service.d/kvmha.conf)", ""},
		{"virtqemud instead of libvirtd", map[string]string{
			"/lib/systemd/system/libvirtd.service":  "",
			"/lib/systemd/system/virtqemud.service": "[Unit]\nDescription=QEMU daemon\n"}, Fail,
			"not ordered after virtqemud.service, virtlockd.service, virtlogd.service",
			"After=virtqemud.service virtlockd.service virtlogd.service"},
		{"without systemd as PID 1", map[string]string{"/run/systemd/system/.keep": ""}, Fail,
			"this host did not boot with systemd, /run/systemd/system is missing", wantFix},
		{"only libvirtd installed", map[string]string{
			"/lib/systemd/system/virtlockd.service": "", "/lib/systemd/system/virtlogd.service": ""}, Fail,
			"not ordered after libvirtd.service: at shutdown",
			"After=libvirtd.service\\n"},
		{"no Pacemaker", map[string]string{"/lib/systemd/system/pacemaker.service": ""}, Skip,
			"no pacemaker.service unit file", ""},
		{"Pacemaker masked", map[string]string{"/etc/systemd/system/pacemaker.service": "->/dev/null"}, Skip,
			"pacemaker.service is masked", ""},
		{"no libvirt", map[string]string{"/lib/systemd/system/libvirtd.service": ""}, Skip,
			"no libvirtd.service (nor virtqemud.service) unit file", ""},
		{"libvirtd masked", map[string]string{"/etc/systemd/system/libvirtd.service": "->/dev/null"}, Skip,
			"no libvirtd.service (nor virtqemud.service) unit file", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runNamed(t, orderDoctor(debianUnits(t, tc.extra)), "systemd-order")["systemd-order"]
			expect(t, r, tc.status, tc.detail, tc.fix)
			if tc.status != Skip && tc.name != "without systemd as PID 1" && strings.Contains(r.Detail, "did not boot") {
				t.Errorf("booted with systemd, yet: %s", r.Detail)
			}
		})
	}
}

// A drop-in in a prefix folder (kvmha-.target.d) applies to every unit of
// that type whose name starts so (kvmha-order.target).
func TestSystemdOrderPrefixDropIn(t *testing.T) {
	root := debianUnits(t, map[string]string{
		"/etc/systemd/system/pacemaker.service.d/k.conf": "[Unit]\nAfter=kvmha-order.target\n",
		"/etc/systemd/system/kvmha-.target.d/order.conf": "[Unit]\nAfter=libvirtd.service\n",
	})
	expect(t, runNamed(t, orderDoctor(root), "systemd-order")["systemd-order"], Pass,
		"libvirtd.service (via kvmha-order.target; /etc/systemd/system/pacemaker.service.d/k.conf, /etc/systemd/system/kvmha-.target.d/order.conf)", "")
}

func TestSystemdOrderHostileFiles(t *testing.T) {
	big := "[Unit]\n" + strings.Repeat("# padding\n", maxUnitFileLen/10+1)
	t.Run("oversized pacemaker.service", func(t *testing.T) {
		r := runNamed(t, orderDoctor(debianUnits(t, map[string]string{"/etc/systemd/system/pacemaker.service": big})), "systemd-order")
		expect(t, r["systemd-order"], Fail, "/etc/systemd/system/pacemaker.service: too large", "look at that file")
	})
	t.Run("oversized unit on the way is left out", func(t *testing.T) {
		r := runNamed(t, orderDoctor(debianUnits(t, map[string]string{
			"/etc/systemd/system/pacemaker.service.d/kvmha.conf": "[Unit]\nAfter=huge.target libvirtd.service\n",
			"/lib/systemd/system/huge.target":                    big})), "systemd-order")
		expect(t, r["systemd-order"], Pass, "pacemaker.service after libvirtd.service", "")
	})
	t.Run("symlink loop", func(t *testing.T) {
		r := runNamed(t, orderDoctor(debianUnits(t, map[string]string{
			"/etc/systemd/system/pacemaker.service": "->/etc/systemd/system/loop.service",
			"/etc/systemd/system/loop.service":      "->/etc/systemd/system/pacemaker.service"})), "systemd-order")
		expect(t, r["systemd-order"], Fail, "more than 8 symbolic links", "look at that file")
	})
	t.Run("FIFO as a drop-in", func(t *testing.T) {
		root := debianUnits(t, map[string]string{"/etc/systemd/system/pacemaker.service.d/kvmha.conf": kvmhaDropInForTest})
		fifo := root.path("/etc/systemd/system/libvirtd.service.d/fifo.conf")
		os.MkdirAll(filepath.Dir(fifo), 0o755)
		if err := syscall.Mkfifo(fifo, 0o644); err != nil {
			t.Skip(err)
		}
		expect(t, runNamed(t, orderDoctor(root), "systemd-order")["systemd-order"], Fail, "not a regular file", "look at that file")
	})
	t.Run("absolute links stay in the root", func(t *testing.T) {
		r := runNamed(t, orderDoctor(debianUnits(t, map[string]string{
			"/lib/systemd/system/pacemaker.service":              "->/usr/lib/systemd/system/pacemaker.service",
			"/usr/lib/systemd/system/pacemaker.service":          debPacemaker,
			"/etc/systemd/system/pacemaker.service.d/kvmha.conf": "->/etc/kvmha/order.conf",
			"/etc/kvmha/order.conf":                              kvmhaDropInForTest})), "systemd-order")
		expect(t, r["systemd-order"], Pass, "(/etc/kvmha/order.conf)", "")
	})
	t.Run("names that are paths", func(t *testing.T) {
		r := runNamed(t, orderDoctor(debianUnits(t, map[string]string{
			"/etc/systemd/system/pacemaker.service.d/k.conf": "[Unit]\nAfter=../../../etc/passwd /etc/shadow .. " +
				strings.Repeat("x", 300) + ".service\n"})), "systemd-order")
		expect(t, r["systemd-order"], Fail, "not ordered after", "kvmha-libvirt.conf")
	})
	t.Run("a chain longer than the bound", func(t *testing.T) {
		extra := map[string]string{"/etc/systemd/system/pacemaker.service.d/k.conf": "[Unit]\nAfter=chain0.target\n"}
		for i := 0; i <= maxUnits; i++ {
			extra[fmt.Sprintf("/lib/systemd/system/chain%d.target", i)] = fmt.Sprintf("[Unit]\nAfter=chain%d.target\n", i+1)
		}
		extra[fmt.Sprintf("/lib/systemd/system/chain%d.target", maxUnits+1)] = "[Unit]\nAfter=libvirtd.service\n"
		r := runNamed(t, orderDoctor(debianUnits(t, extra)), "systemd-order")["systemd-order"]
		expect(t, r, Warn, fmt.Sprintf("stopped after %d units", maxUnits), "kvmha-libvirt.conf")
	})
}

const kvmhaDropInForTest = "[Unit]\nAfter=libvirtd.service virtlockd.service virtlogd.service\n"

func TestParseUnitOrdering(t *testing.T) {
	after, before := parseUnitOrdering("a", "[Unit]\nAfter=x.service y.target\r\nBefore = z.service\n After=\"q.service\"\n;After=no.service\n[Install]\nAfter=w.service\n", nil, nil)
	if got := refsString(after); got != "x.service@a y.target@a q.service@a" {
		t.Errorf("after: %s", got)
	}
	if got := refsString(before); got != "z.service@a" {
		t.Errorf("before: %s", got)
	}
	after, _ = parseUnitOrdering("b", "[Unit]\nAfter=\n", after, nil)
	if len(after) != 0 {
		t.Errorf("an empty After= keeps %v", after)
	}
	after, _ = parseUnitOrdering("c", "[Unit]\nAfter=a.service \\", nil, nil)
	if refsString(after) != "a.service@c" {
		t.Errorf("a backslash at the end: %v", after)
	}
}

func refsString(rs []orderRef) string {
	var s []string
	for _, r := range rs {
		s = append(s, r.unit+"@"+r.file)
	}
	return strings.Join(s, " ")
}

func TestDropInDirs(t *testing.T) {
	got := strings.Join(dropInDirs("virt-qemu-d.service"), " ")
	if got != "virt-qemu-d.service.d virt-qemu-.service.d virt-.service.d service.d" {
		t.Errorf("%s", got)
	}
	if got := strings.Join(dropInDirs("getty@tty1.service"), " "); got != "getty@tty1.service.d getty@.service.d service.d" {
		t.Errorf("%s", got)
	}
}
