package virtualdomain

import (
	"strings"
	"testing"

	"github.com/kvmha/kvmha/internal/ocf/ocftest"
)

func TestNeedsCeph(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  []string
		want bool
	}{
		{[]string{"VirtualDomain", "start"}, nil, true},
		{[]string{"VirtualDomain", "monitor"}, nil, false},
		{[]string{"VirtualDomain", "monitor"}, []string{"OCF_CHECK_LEVEL=20"}, true},
		{[]string{"VirtualDomain", "status"}, []string{"OCF_RESKEY_OCF_CHECK_LEVEL=20"}, true},
		{[]string{"VirtualDomain", "monitor"}, []string{"OCF_CHECK_LEVEL=10"}, false},
		{[]string{"VirtualDomain", "stop"}, nil, true},
		{[]string{"VirtualDomain", "migrate_to"}, nil, false},
		{[]string{"VirtualDomain", "migrate_from"}, nil, false},
		{[]string{"VirtualDomain", "migrate_from"}, []string{"OCF_RESKEY_heartbeat=file:///shared/hb"}, false},
		{[]string{"VirtualDomain", "migrate_from"}, []string{"OCF_RESKEY_heartbeat=file:///shared/hb,rados://rbd/hb"}, true},
		{[]string{"VirtualDomain", "migrate_from"}, []string{"OCF_RESKEY_heartbeat=rados://"}, false},
		{[]string{"VirtualDomain", "migrate_to"}, []string{"OCF_RESKEY_heartbeat=rados://rbd/hb"}, false},
		{[]string{"VirtualDomain", "meta-data"}, nil, false},
		{[]string{"VirtualDomain"}, nil, false},
	} {
		action := ""
		if len(tc.args) >= 2 {
			action = tc.args[1]
		}
		getenv := func(key string) string {
			for _, kv := range tc.env {
				if k, v, _ := strings.Cut(kv, "="); k == key {
					return v
				}
			}
			return ""
		}
		if got := NeedsCeph(action, getenv); got != tc.want {
			t.Errorf("%v %v: %v", tc.args, tc.env, got)
		}
	}
}

// Without the Ceph-linked twin, a start that needs Ceph fails as "not installed here".
func TestStartWithoutCephSupport(t *testing.T) {
	h := newHarness(t)
	h.writeConfig(domainXML("vm1", testUUID, rbdDiskXML("vda", "rbd/a", testUUID)))
	d := h.deps()
	d.openCeph = cephNotBuiltIn
	r := ocftest.Run(newAgent(d), "start", h.env)
	if r.Code != 5 || !strings.Contains(r.Reason, "no Ceph support") || h.hv.called("CreateTransient") != 0 {
		t.Fatalf("exit %d, calls %v", r.Code, h.hv.callList())
	}
}
