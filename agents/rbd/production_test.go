package rbd

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kvmha/kvmha/internal/ocf"
)

func TestRunGivesChildrenNothing(t *testing.T) {
	t.Setenv("OCF_RESKEY_secret", "/etc/ceph/x")
	t.Setenv("CEPH_ARGS", "--key AQB")
	ctx := context.Background()
	out, err := run(ctx, "/bin/sh", "-c", "env >&2; exit 3")
	if err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatal(err)
	}
	for _, v := range strings.Fields(out) { // sh adds PWD (and the like) itself
		if strings.HasPrefix(v, "OCF_") || strings.HasPrefix(v, "CEPH_") || !strings.Contains(out, "PATH=/usr/sbin:") {
			t.Fatalf("child environment %q", out)
		}
	}
	// A daemon left behind with stderr open does not hold run up.
	start := time.Now()
	if _, err := run(ctx, "/bin/sh", "-c", "sleep 3 & echo started >&2"); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("run waited %s for the daemon", d)
	}
}

func TestStartWithoutCephSupport(t *testing.T) {
	sys := productionDeps(nil)
	_, err := sys.openCeph(context.Background(), cephAccess())
	if err == nil || ocf.CodeOf(err) != ocf.ErrInstalled || !strings.Contains(err.Error(), "no Ceph support") {
		t.Fatal(err)
	}
}
