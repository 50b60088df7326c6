//go:build lab

package integration

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kvmha/kvmha/internal/manpage"
	"github.com/kvmha/kvmha/packaging/manpages"
)

// The packages of issue 8 (make packages, packaging/README.md): built once per run.
var (
	packagesOnce sync.Once
	packagesDir  string
	packagesErr  string
)

func pkgRepoRoot() string { return filepath.Join(labDir(), "..", "..") }

// buildPackages runs make packages into a temporary folder (lintian runs in the test).
func buildPackages(t *testing.T) (debs, rpms []string) {
	t.Helper()
	packagesOnce.Do(func() {
		// One fixed folder, replaced by every run, so that runs do not pile up packages.
		dir := filepath.Join(os.TempDir(), "kvmha-lab-packages")
		if err := os.RemoveAll(dir); err != nil {
			packagesErr = err.Error()
			return
		}
		cmd := exec.Command("make", "-s", "packages", "BUILD="+filepath.Join(dir, "build"), "OUT="+filepath.Join(dir, "out"), "LINTIAN=0")
		cmd.Dir = pkgRepoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			packagesErr = fmt.Sprintf("make packages: %v\n%s", err, out)
			return
		}
		packagesDir = filepath.Join(dir, "out")
	})
	if packagesErr != "" {
		t.Fatal(packagesErr)
	}
	debs, _ = filepath.Glob(filepath.Join(packagesDir, "*.deb"))
	rpms, _ = filepath.Glob(filepath.Join(packagesDir, "*.rpm"))
	if len(debs) != 2 || len(rpms) != 2 {
		t.Fatalf("make packages made %v and %v, want two of each", debs, rpms)
	}
	return debs, rpms
}

func pkgRun(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}

func pkgMustRun(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := pkgRun(t, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

// debFiles lists the files (not folders) a .deb ships, as absolute paths.
func debFiles(t *testing.T, deb string) []string {
	t.Helper()
	var files []string
	for _, l := range strings.Split(pkgMustRun(t, "dpkg-deb", "--contents", deb), "\n") {
		f := strings.Fields(l)
		if len(f) >= 6 && !strings.HasPrefix(f[0], "d") {
			files = append(files, strings.TrimPrefix(f[len(f)-1], "."))
		}
	}
	sort.Strings(files)
	return files
}

func debName(t *testing.T, deb string) string {
	return strings.TrimSpace(pkgMustRun(t, "dpkg-deb", "--field", deb, "Package"))
}

func pkgInstalled(name string) bool {
	out, _ := exec.Command("dpkg-query", "-W", "-f=${Status}", name).Output()
	return strings.Contains(string(out), "install ok installed")
}

// installPackages removes what earlier runs and other lab tests left (the packages, and
// copies of the agents that tests installed by hand: dpkg must own every file it ships),
// installs both .debs and purges them when the test ends. Nothing removed is restored:
// the tests that want their own copies install them again.
func installPackages(t *testing.T, debs []string) (files []string) {
	t.Helper()
	var names []string
	for _, deb := range debs {
		names = append(names, debName(t, deb))
		files = append(files, debFiles(t, deb)...)
	}
	purge := func() {
		if out, err := pkgRun(t, "dpkg", append([]string{"--purge"}, names...)...); err != nil {
			t.Errorf("dpkg --purge: %v\n%s", err, out)
		}
	}
	for _, n := range names {
		if pkgInstalled(n) {
			purge()
			break
		}
	}
	for _, f := range files {
		if _, err := os.Lstat(f); err == nil {
			if _, err := pkgRun(t, "dpkg", "-S", f); err == nil {
				t.Fatalf("%s belongs to another package", f)
			}
			t.Logf("removing stray %s", f)
			if err := os.Remove(f); err != nil {
				t.Fatal(err)
			}
		}
	}
	pkgMustRun(t, "dpkg", append([]string{"-i"}, debs...)...)
	t.Cleanup(func() {
		for _, n := range names {
			if pkgInstalled(n) {
				purge()
				return
			}
		}
	})
	return files
}

// TestPackages: make packages builds kvmha and kvmha-ceph as .deb and .rpm; lintian reports
// no error; the .rpms hold the same files; both .debs install with dpkg -i; Pacemaker's
// tools, pcs and crmsh find the agents and print the meta-data the agents print; man finds
// every page; every configuration example of the pages is accepted by pcs and by crm (which
// check the parameters against the installed agents) in a scratch CIB; dpkg --purge leaves
// nothing behind.
func TestPackages(t *testing.T) {
	lockPacemaker(t) // other sessions' clusters run the agents from the folders dpkg changes
	start := time.Now()
	debs, rpms := buildPackages(t)
	t.Logf("make packages: %v", time.Since(start).Round(time.Second))

	out, _ := pkgRun(t, "lintian", append([]string{"--allow-root", "--fail-on", "none"}, debs...)...)
	t.Logf("lintian:\n%s", out)
	if strings.Contains(out, "\nE: ") || strings.HasPrefix(out, "E: ") {
		t.Errorf("lintian reports errors")
	}

	var debList, rpmList []string
	for _, deb := range debs {
		for _, f := range debFiles(t, deb) {
			if !strings.HasPrefix(f, "/usr/share/lintian/") {
				debList = append(debList, f)
			}
		}
	}
	for _, rpm := range rpms {
		rpmList = append(rpmList, strings.Fields(pkgMustRun(t, "rpm", "-qpl", rpm))...)
	}
	sort.Strings(debList)
	sort.Strings(rpmList)
	if strings.Join(debList, " ") != strings.Join(rpmList, " ") {
		t.Errorf("rpm -qpl lists\n%s\nthe .debs ship\n%s", strings.Join(rpmList, "\n"), strings.Join(debList, "\n"))
	}
	req := pkgMustRun(t, "rpm", "-qp", "--requires", filepath.Join(packagesDir, "kvmha-ceph-"+rpmVersion(rpms)+".x86_64.rpm"))
	if !strings.Contains(req, "librados2") || !strings.Contains(req, "librbd1") {
		t.Errorf("kvmha-ceph.rpm requires\n%s", req)
	}

	files := installPackages(t, debs)
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("installed: %v", err)
		}
	}

	// The tools of the issue, and every agent's meta-data as Pacemaker reads it.
	for _, name := range []string{"VirtualDomain", "rbd", "o2cb", "HostHeartbeat"} {
		out := pkgMustRun(t, "crm_resource", "--show-metadata", "ocf:kvmha:"+name)
		want, err := os.ReadFile(filepath.Join(pkgRepoRoot(), "ocf-metadata", name+".xml"))
		if err != nil || strings.TrimSpace(out) != strings.TrimSpace(string(want)) {
			t.Errorf("crm_resource --show-metadata ocf:kvmha:%s differs from ocf-metadata/%s.xml (%v)", name, name, err)
		}
	}
	if out := pkgMustRun(t, "pcs", "resource", "describe", "ocf:kvmha:VirtualDomain"); !strings.Contains(out, "config (required)") {
		t.Errorf("pcs resource describe ocf:kvmha:VirtualDomain:\n%s", out)
	}
	if out := pkgMustRun(t, "crm", "ra", "info", "ocf:kvmha:rbd"); !strings.Contains(out, "name* (string)") {
		t.Errorf("crm ra info ocf:kvmha:rbd:\n%s", out)
	}
	for _, name := range []string{"fence_rbd", "fence_libvirt", "fence_kvmha"} {
		out := pkgMustRun(t, "stonith_admin", "--metadata", "--agent", name)
		if !strings.Contains(out, `<resource-agent name="`+name+`"`) {
			t.Errorf("stonith_admin --metadata --agent %s:\n%s", name, out)
		}
	}
	pages, err := manpages.Pages()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pages {
		name := strings.TrimSuffix(p.File, filepath.Ext(p.File))
		out := strings.TrimSpace(pkgMustRun(t, "man", "-w", fmt.Sprint(p.Section), name))
		if want := fmt.Sprintf("/usr/share/man/man%d/%s.gz", p.Section, p.File); out != want {
			t.Errorf("man -w %d %s: %s, want %s", p.Section, name, out, want)
		}
	}
	if out := pkgMustRun(t, "man", "-w", "ocf_kvmha_VirtualDomain"); !strings.Contains(out, "man7/ocf_kvmha_VirtualDomain.7.gz") {
		t.Errorf("man -w ocf_kvmha_VirtualDomain: %s", out)
	}
	pkgMustRun(t, "/usr/sbin/kvmha", "--help")

	// Every example of the pages, with pcs and with crm, in scratch CIBs.
	dir := t.TempDir()
	pcsCIB, crmCIB := filepath.Join(dir, "pcs.xml"), filepath.Join(dir, "crm.xml")
	for _, cib := range []string{pcsCIB, crmCIB} {
		empty := pkgMustRun(t, "cibadmin", "--empty")
		if err := os.WriteFile(cib, []byte(empty), 0o600); err != nil {
			t.Fatal(err)
		}
		// Quorum is a live cluster's business; fencing stays enabled (the fence agents'
		// examples come first), so that crm's verification has nothing to warn about.
		cibShell(t, cib, "crm_attribute --type crm_config --name no-quorum-policy --update ignore")
	}
	examples := manpages.Examples()
	sort.SliceStable(examples, func(i, j int) bool { return examples[i].Class == "stonith" && examples[j].Class != "stonith" })
	for _, e := range examples {
		pcs, crm := e.Commands(e.Class, e.Agent)
		for _, l := range pcs {
			cibShell(t, pcsCIB, "pcs -f "+pcsCIB+strings.TrimPrefix(l, "pcs"))
		}
		for _, l := range crm {
			if out := cibShell(t, crmCIB, l); strings.Contains(out, "ERROR") || strings.Contains(out, "WARNING") {
				t.Errorf("%s (%s): %s", l, e.File, out)
			}
		}
		for _, cib := range []string{pcsCIB, crmCIB} {
			cibShell(t, cib, fmt.Sprintf(`cibadmin --query --xpath "//primitive[@id='%s']"`, e.ID))
		}
		t.Logf("%s: example %s accepted by pcs and crm", e.File, e.ID)
	}

	// Removal leaves nothing.
	pkgMustRun(t, "dpkg", "--purge", "kvmha", "kvmha-ceph")
	for _, f := range append(files, "/usr/lib/ocf/resource.d/kvmha", "/usr/share/doc/kvmha", "/usr/share/doc/kvmha-ceph") {
		if _, err := os.Lstat(f); err == nil {
			t.Errorf("%s is left after dpkg --purge", f)
		}
	}
	if out, err := pkgRun(t, "man", "-w", "ocf_kvmha_VirtualDomain"); err == nil {
		t.Errorf("man still finds ocf_kvmha_VirtualDomain: %s", out)
	}
}

// cibShell runs a command line with CIB_file set and returns its output; failure fails the test.
func cibShell(t *testing.T, cib, line string) string {
	t.Helper()
	cmd := exec.Command("bash", "-c", line)
	cmd.Env = append(os.Environ(), "CIB_file="+cib)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", line, err, out.String())
	}
	return out.String()
}

// rpmVersion is the version-release part of the rpms' names.
func rpmVersion(rpms []string) string {
	for _, r := range rpms {
		if b := filepath.Base(r); strings.HasPrefix(b, "kvmha-") && !strings.HasPrefix(b, "kvmha-ceph-") {
			return strings.TrimSuffix(strings.TrimPrefix(b, "kvmha-"), ".x86_64.rpm")
		}
	}
	return ""
}

// TestPackagedVirtualDomainTakesOverARunningGuest follows the page's migration section: a
// guest started by ocf:heartbeat:VirtualDomain in the one-node cluster is switched to the
// packaged ocf:kvmha:VirtualDomain with the pcs commands of ocf_kvmha_VirtualDomain(7), and
// keeps running: same libvirt domain id, no restart, monitored by the new agent.
func TestPackagedVirtualDomainTakesOverARunningGuest(t *testing.T) {
	env := loadLabEnv(t)
	lockPacemaker(t)
	if !oneNodeStatus().Summary.DC.Present {
		t.Fatal("the one-node cluster is not up")
	}
	debs, _ := buildPackages(t)
	installPackages(t, debs)

	name := uniqueName("pkgvd")
	xml, err := labScript(t, time.Minute, "guest.sh", "domain", name)
	if err != nil {
		t.Fatalf("guest.sh domain: %v\n%s", err, xml)
	}
	config := filepath.Join(t.TempDir(), name+".xml")
	if err := os.WriteFile(config, []byte(xml), 0o644); err != nil {
		t.Fatal(err)
	}
	virsh := func(args ...string) (string, error) {
		out, err := exec.Command("virsh", append([]string{"-c", env["LIBVIRT_URI"], "-q"}, args...)...).CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	t.Cleanup(func() { virsh("destroy", name) })
	id := name
	pkgMustRun(t, "pcs", "resource", "create", id, "ocf:heartbeat:VirtualDomain", "config="+config,
		"hypervisor="+env["LIBVIRT_URI"], "op", "monitor", "interval=5s", "timeout=30s")
	t.Cleanup(func() { // stopped by the packaged agent before the packages go
		pkgRun(t, "pcs", "resource", "disable", id, "--wait=90")
		pkgRun(t, "pcs", "resource", "delete", id, "--force")
	})
	waitFor(t, 90*time.Second, id+" started by heartbeat:VirtualDomain", func() bool { return oneNodeStatus().runningOn(id) == "node1" })
	domid, err := virsh("domid", name)
	if err != nil {
		t.Fatalf("virsh domid: %v %s", err, domid)
	}

	steps := manpage.SwitchSteps("pcs", id, "VirtualDomain")
	for i, l := range steps {
		if i == len(steps)-1 { // manage again only once the new agent found it running
			waitFor(t, 60*time.Second, id+" probed running by ocf:kvmha:VirtualDomain", func() bool {
				out, _ := exec.Command("crm_mon", "-1", "--output-as=xml").Output()
				return oneNodeStatus().runningOn(id) == "node1" &&
					bytes.Contains(out, []byte(`id="`+id+`" resource_agent="ocf:kvmha:VirtualDomain"`))
			})
		}
		cmd := exec.Command("bash", "-c", l)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", l, err, out)
		}
	}
	time.Sleep(12 * time.Second) // two monitor intervals under the new agent
	if now, err := virsh("domid", name); err != nil || now != domid {
		t.Fatalf("the guest was restarted: domain id %s, then %s (%v)", domid, now, err)
	}
	out, _ := exec.Command("crm_mon", "-1", "--output-as=xml").Output()
	if oneNodeStatus().runningOn(id) != "node1" || !bytes.Contains(out, []byte(`resource_agent="ocf:kvmha:VirtualDomain"`)) ||
		bytes.Contains(out, []byte(`managed="false"`)) {
		t.Fatalf("after the switch:\n%s", out)
	}
	if bytes.Contains(out, []byte("<failures>")) {
		t.Errorf("failed actions after the switch:\n%s", out)
	}
}
