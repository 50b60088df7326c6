package doctor

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestScanQemuStrings(t *testing.T) {
	data := []byte("\x00abc\x00qemu_stamp_f1b4c2\x00/usr/lib/x86_64-linux-gnu/qemu\x00/var/run/qemu/%s\x00qemu_stamp_zz\x00" +
		"/usr/lib/x86_64-linux-gnu/qemu\x00/opt/my qemu\x00/qemu\x00/usr/lib64/qemu")
	stamp, dirs := scanQemuStrings(data)
	if stamp != "qemu_stamp_f1b4c2" || strings.Join(dirs, ",") != "/usr/lib/x86_64-linux-gnu/qemu,/usr/lib64/qemu" {
		t.Fatalf("%q %q", stamp, dirs)
	}
}

// cc compiles C source into out under root, with gcc's extra arguments;
// it skips the test when there is no C compiler.
func cc(t *testing.T, root Root, out, source string, args ...string) {
	t.Helper()
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("no gcc to build fake qemu binaries")
	}
	src := filepath.Join(t.TempDir(), "x.c")
	os.WriteFile(src, []byte(source), 0o644)
	dst := root.path(out)
	os.MkdirAll(filepath.Dir(dst), 0o755)
	cmd := exec.Command(gcc, append([]string{"-o", dst, src}, args...)...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("gcc cannot build the fakes (%v): %s", err, msg)
	}
}

const (
	fakeEmulator = `const char *s[] = {"qemu_stamp_0123abcd", "/usr/lib/x86_64-linux-gnu/qemu", "/var/run/qemu/%s"};
int main(void) { return s[0][0]; }`
	fakeModule = `void qemu_stamp_0123abcd(void) {} void qemu_module_dummy(void) {}`
	emuPath    = "/usr/bin/qemu-system-x86_64"
	modPath    = "/usr/lib/x86_64-linux-gnu/qemu/block-rbd.so"
)

// fakeLibvirt answers with a fixed emulator and domain type.
type fakeLibvirt struct{ domain string }

func (f fakeLibvirt) Versions(context.Context) (string, string, error) { return "9.0.0", "7.2.0", nil }
func (f fakeLibvirt) DomainCapabilities(context.Context) (string, error) {
	return "<domainCapabilities>\n<path>" + emuPath + "</path>\n<domain>" + f.domain +
		"</domain><machine>pc-i440fx-7.2</machine><arch>x86_64</arch><vcpu max='255'/></domainCapabilities>", nil
}
func (f fakeLibvirt) Close() error { return nil }

func qemuDoctor(root Root, domain string) *Doctor {
	d := testDoctor(root, nil, nil, nil)
	d.LibvirtURI = "qemu:///system"
	d.DialLibvirt = func(context.Context, string) (Libvirt, error) { return fakeLibvirt{domain}, nil }
	return d
}

func TestQemuRBDModule(t *testing.T) {
	root := fakeTree(t, map[string]string{
		"/etc/os-release":                         "ID=debian\n",
		"/usr/lib/x86_64-linux-gnu/librbd.so.1":   "",
		"/usr/lib/x86_64-linux-gnu/librados.so.2": "",
	})
	cc(t, root, emuPath, fakeEmulator)
	cc(t, root, "/usr/bin/qemu-img", fakeEmulator)
	cc(t, root, modPath, fakeModule, "-shared", "-fPIC", "-Wl,--no-as-needed", "-lrbd", "-lrados")
	rs := runNamed(t, qemuDoctor(root, "kvm"), "libvirt", "qemu")
	expect(t, rs["libvirt"], Pass, "libvirt 9.0.0 at qemu:///system runs /usr/bin/qemu-system-x86_64 (qemu 7.2.0, kvm, x86_64, pc-i440fx-7.2)", "")
	expect(t, rs["qemu-rbd"], Pass, "loads rbd from "+modPath+" (stamp matches; /usr/lib/x86_64-linux-gnu/librbd.so.1, /usr/lib/x86_64-linux-gnu/librados.so.2)", "")
	expect(t, rs["qemu-img-rbd"], Pass, "qemu-img /usr/bin/qemu-img loads rbd", "")

	// librbd gone.
	os.Remove(root.path("/usr/lib/x86_64-linux-gnu/librbd.so.1"))
	expect(t, runNamed(t, qemuDoctor(root, "kvm"), "qemu-rbd")["qemu-rbd"], Fail, "it needs librbd.so.1, which is not installed", "apt install librbd1")

	// A module of another build.
	cc(t, root, modPath, `void qemu_stamp_ffff(void) {}`, "-shared", "-fPIC")
	expect(t, runNamed(t, qemuDoctor(root, "kvm"), "qemu-rbd")["qemu-rbd"], Fail, "is from another qemu build (it lacks qemu_stamp_0123abcd", "apt install qemu-block-extra")

	// No module.
	os.Remove(root.path(modPath))
	os.WriteFile(root.path("/etc/os-release"), []byte("ID=rocky\nID_LIKE=\"rhel centos fedora\"\n"), 0o644)
	rs = runNamed(t, qemuDoctor(root, "qemu"), "libvirt", "qemu-rbd")
	expect(t, rs["qemu-rbd"], Fail, "has no rbd driver: no block-rbd.so in /usr/lib/x86_64-linux-gnu/qemu or /usr/bin", "dnf install qemu-kvm-block-rbd")
	expect(t, rs["libvirt"], Warn, "no KVM", "/dev/kvm")
}

func TestQemuRBDBuiltIn(t *testing.T) {
	root := fakeTree(t, nil)
	cc(t, root, emuPath, `int main(void) { return 0; }`, "-Wl,--no-as-needed", "-lrbd")
	expect(t, runNamed(t, qemuDoctor(root, "kvm"), "qemu-rbd")["qemu-rbd"], Pass, "has the rbd driver built in", "")
	expect(t, runNamed(t, qemuDoctor(root, "kvm"), "qemu-img-rbd")["qemu-img-rbd"], Fail, "no qemu-img in", "qemu-utils")
}

func TestQemuRBDWithoutLibvirt(t *testing.T) {
	d := testDoctor(fakeTree(t, nil), nil, nil, nil)
	d.LibvirtURI = "qemu:///system"
	d.DialLibvirt = func(context.Context, string) (Libvirt, error) {
		return nil, errors.New("dial unix /run/libvirt/libvirt-sock: no such file")
	}
	rs := runNamed(t, d, "libvirt", "qemu-rbd")
	expect(t, rs["libvirt"], Fail, "libvirtd at qemu:///system: dial unix", "start libvirtd")
	expect(t, rs["qemu-rbd"], Skip, "(see libvirt)", "")
	expect(t, runNamed(t, d, "qemu-rbd")["qemu-rbd"], Fail, "cannot learn libvirt's emulator", "start libvirtd")
}

func TestQemuRBDNotAnELF(t *testing.T) {
	root := fakeTree(t, map[string]string{emuPath: "#!/bin/sh\n"})
	expect(t, runNamed(t, qemuDoctor(root, "kvm"), "qemu-rbd")["qemu-rbd"], Fail, "not an ELF file", "reinstall qemu")
}
