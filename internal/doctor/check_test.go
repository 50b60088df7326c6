package doctor

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestRunChecksOrderDeadlinesAndPanics(t *testing.T) {
	hung := make(chan struct{})
	defer close(hung)
	checks := []Check{
		checkFunc{Info{Name: "slow", Family: "f"}, func(ctx context.Context) Result {
			time.Sleep(50 * time.Millisecond)
			return pass("slow done")
		}},
		checkFunc{Info{Name: "hangs", Family: "f", Budget: 100 * time.Millisecond}, func(context.Context) Result {
			<-hung // ignores its context
			return pass("never")
		}},
		checkFunc{Info{Name: "polite", Family: "g", Budget: 50 * time.Millisecond}, func(ctx context.Context) Result {
			<-ctx.Done()
			return fail("fix it", "waited for the thing: %v", ctx.Err())
		}},
		checkFunc{Info{Name: "panics", Family: "g"}, func(context.Context) Result { panic("boom") }},
		checkFunc{Info{Name: "mute", Family: "g"}, func(context.Context) Result { return Result{} }},
	}
	start := time.Now()
	rs := RunChecks(context.Background(), checks)
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the runner waited for the hung check: %v", took)
	}
	want := []struct {
		name   string
		status Status
		text   string
	}{
		{"slow", Pass, "slow done"},
		{"hangs", Fail, "no answer within"},
		{"polite", Fail, "waited for the thing"},
		{"panics", Fail, "internal error: boom"},
		{"mute", Fail, "no verdict"},
	}
	for i, w := range want {
		r := rs[i]
		if r.Check != w.name || r.Status != w.status || !strings.Contains(r.Detail, w.text) || r.Fix == "" && r.Status == Fail {
			t.Errorf("result %d: %+v, want %s %s %q", i, r, w.name, w.status, w.text)
		}
	}
	if rs[0].Family != "f" || rs[0].Seconds <= 0 {
		t.Errorf("family or duration not filled in: %+v", rs[0])
	}
}

func TestSelect(t *testing.T) {
	d := testDoctor("", nil, nil, nil)
	all := d.Checks()
	names := func(cs []Check) string {
		var n []string
		for _, c := range cs {
			n = append(n, c.Info().Name)
		}
		return strings.Join(n, ",")
	}
	cases := []struct {
		include, exclude []string
		want             string
	}{
		{[]string{"kernel"}, nil, "krbd,krbd-features,nbd"},
		{[]string{"clock", "ceph-mon"}, nil, "ceph-mon,clock"}, // check order, not argument order
		{[]string{"ceph", "o2cb"}, []string{"cephx", "configfs"}, "ceph-mon,ocfs2,o2cb-port"},
		{nil, []string{"kernel", "o2cb", "qemu", "libvirt", "ceph", "cluster"}, "clock"},
	}
	for _, c := range cases {
		got, err := Select(all, c.include, c.exclude)
		if err != nil || names(got) != c.want {
			t.Errorf("Select(%v, %v) = %s, %v; want %s", c.include, c.exclude, names(got), err, c.want)
		}
	}
	if _, err := Select(all, []string{"kernal"}, nil); err == nil || !strings.Contains(err.Error(), "krbd-features") {
		t.Errorf("unknown name: %v", err)
	}
	if _, err := Select(all, nil, []string{"x\ny"}); err == nil || strings.Contains(err.Error(), "\n") {
		t.Errorf("unknown name with a newline: %v", err)
	}
	seen := map[string]bool{}
	for _, c := range all {
		i := c.Info()
		if seen[i.Name] || i.Doc == "" || i.Family == "" || i.Budget <= 0 {
			t.Errorf("check %+v: duplicate or incomplete", i)
		}
		seen[i.Name] = true
	}
}

func TestParsePools(t *testing.T) {
	ps, err := ParsePools("rbd, vms/ns1,,")
	if err != nil || len(ps) != 2 || ps[1] != (Pool{"vms", "ns1"}) || ps[1].String() != "vms/ns1" || ps[0].String() != "rbd" {
		t.Fatalf("%v %v", ps, err)
	}
	for _, bad := range []string{"/ns", "a/b/c", "a@s"} {
		if _, err := ParsePools(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestDistro(t *testing.T) {
	cases := map[string]distro{
		"ID=debian\n":                                  distroDebian,
		"ID=ubuntu\nID_LIKE=debian\n":                  distroUbuntu,
		"ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"": distroRedHat,
		"ID=opensuse-leap\nID_LIKE=\"suse opensuse\"":  distroSUSE,
		"ID=linuxmint\nID_LIKE=ubuntu":                 distroUbuntu,
		"ID=arch":                                      distroUnknown,
	}
	for text, want := range cases {
		if got := parseOSRelease(text); got != want {
			t.Errorf("%q: %v, want %v", text, got, want)
		}
	}
	if s := distroUnknown.install("a", "b", ""); !strings.Contains(s, "apt install a") || !strings.Contains(s, "dnf install b") {
		t.Error(s)
	}
	if s := distroRedHat.install("a", "b", "c"); s != "dnf install b" {
		t.Error(s)
	}
}
