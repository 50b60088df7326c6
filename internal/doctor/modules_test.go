package doctor

import (
	"strings"
	"testing"
)

const testRelease = "6.1.0-99-amd64"

// kernelTree is a fake host with a kernel's module files: nbd, rbd,
// libceph, ocfs2, ocfs2_stack_o2cb and ocfs2_dlmfs installed, configfs
// built in; extra files are added.
func kernelTree(t *testing.T, extra map[string]string) Root {
	mods := "/lib/modules/" + testRelease + "/"
	files := map[string]string{
		"/proc/sys/kernel/osrelease": testRelease + "\n",
		"/proc/sys/kernel/hostname":  "node1.example.org\n",
		"/proc/modules":              "virtio_blk 24576 2 - Live 0x0000000000000000\nsoftdog 16384 0 - Live 0x0\n",
		"/proc/filesystems":          "nodev\tsysfs\nnodev\tproc\n\text4\n",
		"/proc/mounts":               "sysfs /sys sysfs rw 0 0\n",
		mods + "modules.dep": "kernel/drivers/block/nbd.ko.xz:\n" +
			"kernel/drivers/block/rbd.ko.xz: kernel/net/ceph/libceph.ko.xz\n" +
			"kernel/net/ceph/libceph.ko.xz:\n" +
			"kernel/fs/ocfs2/ocfs2.ko.xz: kernel/fs/ocfs2/ocfs2_stackglue.ko.xz\n" +
			"kernel/fs/ocfs2/ocfs2_stack_o2cb.ko.xz: kernel/fs/ocfs2/ocfs2_stackglue.ko.xz\n" +
			"kernel/fs/ocfs2/dlmfs/ocfs2_dlmfs.ko.xz:\n",
		mods + "modules.builtin":                         "kernel/fs/configfs/configfs.ko\nkernel/drivers/char/mem.ko\n",
		mods + "kernel/drivers/block/nbd.ko.xz":          "",
		mods + "kernel/drivers/block/rbd.ko.xz":          "",
		mods + "kernel/net/ceph/libceph.ko.xz":           "",
		mods + "kernel/fs/ocfs2/ocfs2.ko.xz":             "",
		mods + "kernel/fs/ocfs2/ocfs2_stack_o2cb.ko.xz":  "",
		mods + "kernel/fs/ocfs2/dlmfs/ocfs2_dlmfs.ko.xz": "",
		"/etc/os-release":                                "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n",
		"/usr/bin/rbd-nbd":                               "#!/bin/sh\n",
		"/sbin/mount.ocfs2":                              "#!/bin/sh\n",
		"/sbin/mkfs.ocfs2":                               "#!/bin/sh\n",
	}
	for k, v := range extra {
		if v == "" && strings.HasPrefix(k, "-") {
			delete(files, k[1:])
			continue
		}
		files[k] = v
	}
	return fakeTree(t, files)
}

func TestParseModuleList(t *testing.T) {
	m := parseModuleList("kernel/drivers/block/nbd.ko.xz: a.ko\nkernel/fs/ocfs2/ocfs2_stack_o2cb.ko.zst:\n\nnot a module\nkernel/x/dm-mod.ko\n: b.ko\n")
	if m["nbd"] != "kernel/drivers/block/nbd.ko.xz" || m["ocfs2_stack_o2cb"] == "" || m["dm_mod"] != "kernel/x/dm-mod.ko" || len(m) != 3 {
		t.Fatalf("%v", m)
	}
	if l := parseProcModules("rbd 118784 0 - Live 0x0\nlibceph 544768 1 rbd, Live 0x0\n\n"); !l["rbd"] || !l["libceph"] || len(l) != 2 {
		t.Fatalf("%v", l)
	}
}

func TestParseModprobeConf(t *testing.T) {
	var r modprobeRules
	r.install, r.blacklist = map[string]modprobeRule{}, map[string]modprobeRule{}
	parseModprobeConf("/etc/modprobe.d/a.conf", "# install nbd /bin/false\n"+
		"install nbd /bin/false\n"+
		"install nbd /sbin/modprobe --ignore-install nbd\n"+ // the first one wins
		"install rbd /sbin/modprobe --ignore-install rbd \\\n  && echo loaded\n"+
		"blacklist ocfs2-dlmfs\n"+
		"install dummy /bin/true\n"+
		"options nbd nbds_max=32\n"+
		"install\n", &r)
	if ir := r.install["nbd"]; !ir.blocks() || ir.where != "/etc/modprobe.d/a.conf:2" {
		t.Errorf("nbd: %+v", ir)
	}
	if ir := r.install["rbd"]; ir.blocks() || !strings.Contains(ir.command, "echo loaded") {
		t.Errorf("rbd: %+v", ir)
	}
	if !r.install["dummy"].blocks() || r.blacklist["ocfs2_dlmfs"].where != "/etc/modprobe.d/a.conf:6" {
		t.Errorf("%+v", r)
	}
}

func TestModprobeDirsOrder(t *testing.T) {
	root := fakeTree(t, map[string]string{
		"/etc/modprobe.d/nbd.conf":    "options nbd nbds_max=4\n", // hides the one in /lib
		"/lib/modprobe.d/nbd.conf":    "install nbd /bin/false\n",
		"/run/modprobe.d/rbd.conf":    "install rbd /bin/false\n",
		"/run/modprobe.d/rbd.conf.bk": "install libceph /bin/false\n", // not *.conf
	})
	r := root.readModprobeRules()
	if r.install["nbd"].blocks() || !r.install["rbd"].blocks() || r.install["libceph"].command != "" {
		t.Fatalf("%+v", r)
	}
}

func TestModuleStates(t *testing.T) {
	root := kernelTree(t, map[string]string{
		"/proc/modules":              "rbd 118784 0 - Live 0x0\n",
		"/run/modprobe.d/block.conf": "install nbd /bin/false\nblacklist ocfs2\n",
		"-/lib/modules/" + testRelease + "/kernel/fs/ocfs2/dlmfs/ocfs2_dlmfs.ko.xz": "",
	})
	m, err := root.readModules()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		present bool
		state   moduleState
		text    string
	}{
		{"rbd", false, modLoaded, "loaded"},
		{"configfs", false, modBuiltin, "built in"},
		{"nbd", false, modBlocked, "/run/modprobe.d/block.conf:1"},
		{"ocfs2", false, modAvailable, "blacklisted in /run/modprobe.d/block.conf:2"},
		{"ocfs2_stack_o2cb", false, modAvailable, "installed"},
		{"ocfs2-dlmfs", false, modMissing, "is gone"},
		{"ocfs2_dlmfs", true, modLoaded, "loaded"},
		{"zram", false, modMissing, "neither in modules.dep"},
	} {
		rep := m.module(root, c.name, c.present)
		if rep.state != c.state || !strings.Contains(rep.what, c.text) {
			t.Errorf("%s: %v %q, want %v %q", c.name, rep.state, rep.what, c.state, c.text)
		}
	}
	if fix := m.moduleFix(root, m.module(root, "nbd", false), ""); !strings.Contains(fix, "remove the line at /run/modprobe.d/block.conf:1") {
		t.Error(fix)
	}
	if fix := m.moduleFix(root, m.module(root, "zram", false), "or not"); !strings.Contains(fix, "apt install --reinstall linux-image-"+testRelease) || !strings.HasSuffix(fix, "; or not") {
		t.Error(fix)
	}
	m.disabled = true
	if rep := m.module(root, "ocfs2", false); rep.state != modBlocked || !strings.Contains(m.moduleFix(root, rep, ""), "reboot") {
		t.Errorf("modules_disabled: %+v", rep)
	}
}

func TestKernelChecksPassOnAGoodHost(t *testing.T) {
	root := kernelTree(t, nil)
	d := testDoctor(root, nil, nil, nil)
	rs := runNamed(t, d, "kernel", "o2cb")
	expect(t, rs["krbd"], Pass, "rbd installed (not loaded)", "")
	expect(t, rs["krbd-features"], Skip, "modprobe rbd", "")
	expect(t, rs["nbd"], Pass, "rbd-nbd at /usr/bin/rbd-nbd", "")
	expect(t, rs["configfs"], Pass, "configfs built in", "")
	expect(t, rs["ocfs2"], Pass, "ocfs2_stack_o2cb installed", "")
	expect(t, rs["o2cb-port"], Pass, "TCP 7777 (the default) is free", "")
}

func TestKernelChecksFailWithFixes(t *testing.T) {
	root := kernelTree(t, map[string]string{
		"/etc/os-release":                                   "ID=ubuntu\nID_LIKE=debian\n",
		"/etc/modprobe.d/local.conf":                        "install rbd /bin/true\n",
		"-/usr/bin/rbd-nbd":                                 "",
		"-/lib/modules/" + testRelease + "/modules.builtin": "",
		"-/lib/modules/" + testRelease + "/kernel/fs/ocfs2/ocfs2_stack_o2cb.ko.xz": "",
		"-/sbin/mkfs.ocfs2": "",
	})
	d := testDoctor(root, nil, nil, nil)
	rs := runNamed(t, d, "kernel", "o2cb")
	expect(t, rs["krbd"], Fail, "/etc/modprobe.d/local.conf:1 makes 'modprobe rbd' run \"/bin/true\"", "remove the line")
	expect(t, rs["nbd"], Fail, "no rbd-nbd", "apt install rbd-nbd")
	expect(t, rs["configfs"], Fail, "configfs missing", "apt install linux-modules-extra-"+testRelease)
	expect(t, rs["ocfs2"], Fail, "ocfs2_stack_o2cb listed in modules.dep, but", "linux-modules-extra")
	root = kernelTree(t, map[string]string{"-/sbin/mkfs.ocfs2": ""})
	expect(t, runNamed(t, testDoctor(root, nil, nil, nil), "ocfs2")["ocfs2"], Warn, "no mkfs.ocfs2", "apt install ocfs2-tools")
}

func TestKernelChecksSeeLoadedDrivers(t *testing.T) {
	root := kernelTree(t, map[string]string{
		"/sys/bus/rbd/add_single_major":                 "",
		"/sys/module/rbd/parameters/single_major":       "Y\n",
		"/sys/module/nbd/parameters/nbds_max":           "16\n",
		"/proc/mounts":                                  "configfs /sys/kernel/config configfs rw 0 0\n",
		"/proc/filesystems":                             "nodev\tconfigfs\n\tocfs2\nnodev\tocfs2_dlmfs\n",
		"/sys/fs/ocfs2/loaded_cluster_plugins":          "o2cb\n",
		"-/lib/modules/" + testRelease + "/modules.dep": "", // loaded code needs no module files
	})
	rs := runNamed(t, testDoctor(root, nil, nil, nil), "krbd", "nbd", "configfs", "ocfs2")
	expect(t, rs["krbd"], Pass, "rbd loaded, single_major=Y", "")
	expect(t, rs["nbd"], Pass, "nbd loaded (nbds_max=16)", "")
	expect(t, rs["configfs"], Pass, "mounted at /sys/kernel/config", "")
	expect(t, rs["ocfs2"], Pass, "ocfs2 loaded, ocfs2_stack_o2cb loaded, ocfs2_dlmfs loaded", "")
}

func TestKernelWithoutModules(t *testing.T) {
	root := fakeTree(t, map[string]string{"/proc/sys/kernel/osrelease": "6.18.0-custom\n"})
	rs := runNamed(t, testDoctor(root, nil, nil, nil), "krbd")
	expect(t, rs["krbd"], Fail, "rbd missing (no /lib/modules/6.18.0-custom/modules.dep)", "or map images with rbd-nbd")
	root = fakeTree(t, nil)
	expect(t, runNamed(t, testDoctor(root, nil, nil, nil), "nbd")["nbd"], Fail, "osrelease", "")
}
