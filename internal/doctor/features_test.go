package doctor

import (
	"strings"
	"testing"

	"github.com/kvmha/kvmha/internal/krbd"
)

func TestKRBDFeatures(t *testing.T) {
	mon := fakeMon(t, "ceph v2\n")
	debian12 := krbd.Layering | krbd.StripingV2 | krbd.ExclusiveLock | krbd.ObjectMap | krbd.FastDiff | krbd.DeepFlatten | krbd.DataPool | krbd.Operations
	root := kernelTree(t, map[string]string{"/sys/bus/rbd/supported_features": "0x1bf\n"})
	if got, _ := (&Doctor{Root: root}).krbdTree().SupportedFeatures(); got != debian12|krbd.DataPool {
		t.Fatalf("fake sysfs: %v", got)
	}
	plain := uint64(krbd.Layering | krbd.ExclusiveLock | krbd.ObjectMap | krbd.FastDiff | krbd.DeepFlatten)
	s := &fakeSession{pools: map[string]map[string]map[string]uint64{
		"rbd": {"": {"vm1": plain, "vm2": plain}, "ns": {"j": plain | uint64(krbd.Journaling)}},
	}}
	d := testDoctor(root, []string{"v2:" + mon}, s, nil)
	expect(t, runNamed(t, d, "krbd-features")["krbd-features"], Pass, "2 images in rbd: all fit", "")

	d = testDoctor(root, []string{"v2:" + mon}, s, nil)
	d.Pools = []Pool{{Name: "rbd"}, {Name: "rbd", Namespace: "ns"}}
	r := runNamed(t, d, "krbd-features")["krbd-features"]
	expect(t, r, Warn, "1 of 3 images in rbd, rbd/ns use features it lacks: rbd/ns/j (journaling)",
		"run 'rbd feature disable rbd/ns/j journaling' or use driver=nbd")
	if !strings.Contains(r.Detail, "kernel rbd supports layering, striping") {
		t.Error(r.Detail)
	}

	// A pool the user may not read is a failure of the check: it did not see every image.
	s.denied = map[string]bool{"rbd": true}
	d = testDoctor(root, []string{"v2:" + mon}, s, nil)
	expect(t, runNamed(t, d, "krbd-features")["krbd-features"], Fail, "cannot read every image", "ceph auth caps")

	// An old kernel says nothing about its features.
	old := kernelTree(t, map[string]string{"/sys/bus/rbd/add": ""})
	expect(t, runNamed(t, testDoctor(old, []string{"v2:" + mon}, s, nil), "krbd-features")["krbd-features"], Warn,
		"supported_features", "4.11")
}

func TestFirstN(t *testing.T) {
	if got := firstN([]string{"a", "b", "c"}, 2); strings.Join(got, ",") != "a,b,and 1 more" {
		t.Error(got)
	}
	if got := firstN([]string{"a"}, 2); len(got) != 1 {
		t.Error(got)
	}
}
