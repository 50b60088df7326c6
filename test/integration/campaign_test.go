//go:build lab

package integration

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCampaignSmoke: a small fault campaign (test/campaign) on the 3-node lab: five faults of
// five kinds (a node power cut, a cluster-network cut, a libvirtd hang, a live migration whose
// source or target dies, an OSD restart), then the sabotage that starts a guest by hand on a
// second node. The campaign must find no violation in the faults, recover from each, leave
// nothing for an operator, and report the sabotage. It takes the Pacemaker lock itself.
func TestCampaignSmoke(t *testing.T) {
	root, err := filepath.Abs(filepath.Join(labDir(), "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	// The campaign's cluster runs the installed agents, as an operator's would.
	install := exec.Command("make", "-C", root, "-s", "install")
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("make install: %v\n%s", err, out)
	}
	bin := filepath.Join(t.TempDir(), "campaign")
	build := exec.Command("go", "build", "-tags", "pacific,netgo,osusergo", "-o", bin, "./test/campaign")
	build.Dir = root
	build.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./test/campaign: %v\n%s", err, out)
	}
	out := filepath.Join(root, "build", "campaign-smoke")
	os.RemoveAll(out)
	seed := os.Getenv("CAMPAIGN_SEED")
	if seed == "" {
		seed = "1"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CAMPAIGN_SEED="+seed, "CAMPAIGN_FAULTS=5", "CAMPAIGN_GUESTS=3",
		"CAMPAIGN_KINDS=node-kill,cluster-net-cut,libvirtd-hang,migration-kill,osd-restart",
		"CAMPAIGN_SABOTAGE=hand-start", "CAMPAIGN_OUT="+out)
	cmd.WaitDelay = time.Minute
	start := time.Now()
	output, err := cmd.CombinedOutput()
	t.Logf("campaign (seed %s) in %s:\n%s", seed, time.Since(start).Round(time.Second), output)
	if report, rerr := os.ReadFile(filepath.Join(out, "report.md")); rerr == nil {
		t.Logf("report.md:\n%s", report)
	}
	if err != nil {
		t.Fatalf("campaign: %v", err)
	}
	var sum struct {
		Faults []struct {
			Running  int64    `json:"running"`
			Problems []string `json:"problems"`
		} `json:"faults"`
		Violations []struct {
			What string `json:"what"`
		} `json:"violations"`
	}
	data, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil || json.Unmarshal(data, &sum) != nil {
		t.Fatalf("report.json: %v", err)
	}
	if len(sum.Faults) != 5 {
		t.Errorf("%d faults run, want 5", len(sum.Faults))
	}
	caught := false
	for _, v := range sum.Violations {
		if strings.Contains(v.What, "runs on") || strings.Contains(v.What, "split-brain") || strings.Contains(v.What, "generation") ||
			strings.Contains(v.What, "had started writing") {
			caught = true
		}
	}
	if !caught {
		t.Errorf("the sabotage (a guest started by hand on a second node) was not reported as two writers: %+v", sum.Violations)
	}
}
