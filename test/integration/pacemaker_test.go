//go:build lab

package integration

import (
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// clusterStatus is the part of `crm_mon --output-as=xml` the tests read.
type clusterStatus struct {
	Summary struct {
		DC struct {
			Present bool   `xml:"present,attr"`
			Name    string `xml:"name,attr"`
		} `xml:"current_dc"`
	} `xml:"summary"`
	Nodes []struct {
		Name   string `xml:"name,attr"`
		Online bool   `xml:"online,attr"`
	} `xml:"nodes>node"`
	Resources []struct {
		ID    string `xml:"id,attr"`
		Role  string `xml:"role,attr"`
		Nodes []struct {
			Name string `xml:"name,attr"`
		} `xml:"node"`
	} `xml:"resources>resource"`
}

func parseStatus(out []byte) (*clusterStatus, error) {
	var st clusterStatus
	err := xml.Unmarshal(out, &st)
	return &st, err
}

func (st *clusterStatus) online() []string {
	var names []string
	for _, n := range st.Nodes {
		if n.Online {
			names = append(names, n.Name)
		}
	}
	return names
}

// runningOn returns the node a started resource runs on, or "".
func (st *clusterStatus) runningOn(id string) string {
	for _, r := range st.Resources {
		if r.ID == id && r.Role == "Started" && len(r.Nodes) == 1 {
			return r.Nodes[0].Name
		}
	}
	return ""
}

// TestOneNodeClusterRunsLabAgent: the lab's own OCF agent, built on internal/ocf, is
// accepted by pcs (which validates its meta-data against ocf-1.1.rng) and by crmsh, and
// Pacemaker starts, monitors and stops it.
func TestOneNodeClusterRunsLabAgent(t *testing.T) {
	loadLabEnv(t)
	status := oneNodeStatus
	st := status()
	if !st.Summary.DC.Present || strings.Join(st.online(), " ") != "node1" {
		t.Fatalf("one-node cluster not online with a DC: %+v", st)
	}
	viaPcs, viaCrm := uniqueName("pcs"), uniqueName("crm")
	create := map[string][]string{
		viaPcs: {"pcs", "resource", "create", viaPcs, "ocf:kvmha-lab:statefile",
			"state=/run/kvmha-lab/" + viaPcs, "op", "monitor", "interval=10s"},
		viaCrm: {"crm", "configure", "primitive", viaCrm, "ocf:kvmha-lab:statefile",
			"params", "state=/run/kvmha-lab/" + viaCrm, "op", "monitor", "interval=10s"},
	}
	for id, args := range create {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
		defer exec.Command("pcs", "resource", "delete", id, "--force").Run()
	}
	for id := range create {
		took := waitFor(t, 30*time.Second, id+" started", func() bool { return status().runningOn(id) == "node1" })
		t.Logf("%s started on node1 in %.2fs", id, took.Seconds())
		if _, err := os.Stat("/run/kvmha-lab/" + id); err != nil {
			t.Fatalf("%s runs but its state file is missing: %v", id, err)
		}
	}
	if out, err := exec.Command("pcs", "resource", "disable", viaPcs, "--wait=30").CombinedOutput(); err != nil {
		t.Fatalf("pcs resource disable: %v\n%s", err, out)
	}
	if _, err := os.Stat("/run/kvmha-lab/" + viaPcs); !os.IsNotExist(err) {
		t.Fatalf("%s stopped but its state file is still there (%v)", viaPcs, err)
	}
}

// TestOCFTesterPassesLabAgent: ocf-tester, the resource-agents checker, passes the lab's
// agent as installed (meta-data as nobody, DTD validation, idempotent start and stop).
func TestOCFTesterPassesLabAgent(t *testing.T) {
	loadLabEnv(t)
	state := filepath.Join(t.TempDir(), "tester.state")
	out, err := exec.Command("ocf-tester", "-n", "tester", "-o", "state="+state,
		"/usr/lib/ocf/resource.d/kvmha-lab/statefile").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "passed all tests") {
		t.Fatalf("ocf-tester: %v\n%s", err, out)
	}
}

// TestThreeNodeClusterFencesAKilledNode: the 3-node lab comes up, a resource runs on one
// node, that node is powered off (its namespaces killed), the cluster fences it through
// the lab's fence agent, the resource runs elsewhere, and the node rejoins.
func TestThreeNodeClusterFencesAKilledNode(t *testing.T) {
	lockPacemaker(t)
	loadLabEnv(t)
	start := time.Now()
	if out, err := labScript(t, 3*time.Minute, "nodes.sh", "up", "3"); err != nil {
		t.Fatalf("nodes.sh up: %v\n%s", err, out)
	}
	t.Logf("3 nodes online in %.2fs", time.Since(start).Seconds())
	defer func() {
		if out, err := labScript(t, 3*time.Minute, "nodes.sh", "down"); err != nil {
			t.Errorf("nodes.sh down: %v\n%s", err, out)
		}
	}()
	onNode := func(i string, args ...string) ([]byte, error) {
		return exec.Command(labDir()+"/nodes.sh", append([]string{"exec", i}, args...)...).CombinedOutput()
	}
	status := func(from string) *clusterStatus {
		out, err := onNode(from, "crm_mon", "-1", "--output-as=xml")
		if err != nil {
			return &clusterStatus{}
		}
		st, _ := parseStatus(out)
		return st
	}
	if out, err := onNode("1", "pcs", "resource", "create", "d1", "ocf:heartbeat:Dummy",
		"op", "monitor", "interval=5s"); err != nil {
		t.Fatalf("pcs resource create: %v\n%s", err, out)
	}
	var victim string
	waitFor(t, 60*time.Second, "d1 started", func() bool { victim = status("1").runningOn("d1"); return victim != "" })
	victimIndex := strings.TrimPrefix(victim, "node")
	observer := "1"
	if victimIndex == "1" {
		observer = "2"
	}

	killed := time.Now()
	if out, err := labScript(t, time.Minute, "nodes.sh", "kill", victimIndex); err != nil {
		t.Fatalf("nodes.sh kill %s: %v\n%s", victimIndex, err, out)
	}
	took := waitFor(t, 90*time.Second, victim+" fenced", func() bool {
		out, err := onNode(observer, "stonith_admin", "--history", victim, "--output-as=xml")
		return err == nil && strings.Contains(string(out), `status="success"`)
	})
	t.Logf("%s fenced %.2fs after the kill", victim, took.Seconds())
	waitFor(t, 60*time.Second, "d1 running elsewhere", func() bool {
		on := status(observer).runningOn("d1")
		return on != "" && on != victim
	})
	t.Logf("d1 running elsewhere %.2fs after the kill", time.Since(killed).Seconds())
	waitFor(t, 120*time.Second, victim+" rejoined", func() bool {
		for _, n := range status(observer).online() {
			if n == victim {
				return true
			}
		}
		return false
	})
	t.Logf("%s rejoined %.2fs after the kill", victim, time.Since(killed).Seconds())
}
