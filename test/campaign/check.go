package main

import (
	"encoding/xml"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kvmha/kvmha/test/campaign/ring"
)

// The checker judges the history without kvmha's code: the guests' write rings read from
// outside through librbd, the consoles' acknowledged writes, libvirt's domain lists and
// Pacemaker's own tools. Its rules:
//
//  1. No split-brain writes: in each ring, no write of an older boot at or after the first
//     position of a newer one, no generation written by two boots; no guest running on two
//     nodes outside a migration (observe.go); no older boot acknowledging writes after a
//     newer one has started (observe.go); no guest started elsewhere while its qemu lived
//     on a node whose libvirtd hung (nemesis.go).
//  2. No lost acknowledged writes: every write a boot acknowledged on its console before the
//     next boot read the ring is in what that boot found (its RING line), and every write a
//     running boot acknowledged before a ring read is in the ring.
//  3. Recovery (nemesis.go): after each fault every guest runs again, within a bound.
//  4. Nothing left for an operator (final): nothing failed, blocked or unmanaged, no fail
//     count, every node online, no blocklist entry for a node that is back.

type violation struct {
	At   time.Time `json:"at"`
	What string    `json:"what"`
}

type checker struct {
	tl         *timeline
	obs        *observer
	ceph       *cephProbe
	lab        *lab
	guests     []string
	mu         sync.Mutex
	violations []violation
	seen       map[string]bool
	ringsDone  map[string]int // RING lines already checked, per guest
	ringReads  int
	final      []string // what the final check found left over
}

func newChecker(tl *timeline, obs *observer, ceph *cephProbe, l *lab, guests []string) *checker {
	return &checker{tl: tl, obs: obs, ceph: ceph, lab: l, guests: guests, seen: map[string]bool{}, ringsDone: map[string]int{}}
}

// violation records a broken rule once.
func (c *checker) violation(at time.Time, what string) {
	c.mu.Lock()
	if c.seen[what] {
		c.mu.Unlock()
		return
	}
	c.seen[what] = true
	c.violations = append(c.violations, violation{At: at, What: what})
	c.mu.Unlock()
	c.tl.add(event{T: at, Kind: evViolation, Detail: what})
}

// atRecovery runs the ring checks: the writers' RING lines since the last call, and a read of
// every ring now.
func (c *checker) atRecovery(label string) {
	c.checkRingLines()
	c.readRings(label)
}

// checkRingLines: a boot's RING line lists, per older boot, the highest sequence on disk;
// it must cover every sequence that boot acknowledged before the line appeared.
func (c *checker) checkRingLines() {
	c.obs.v.mu.Lock()
	type pending struct {
		guest string
		rl    ringLine
	}
	var todo []pending
	for _, g := range c.guests {
		lines := c.obs.v.rings[g]
		for _, rl := range lines[c.ringsDone[g]:] {
			todo = append(todo, pending{g, rl})
		}
		c.ringsDone[g] = len(lines)
	}
	c.obs.v.mu.Unlock()
	for _, p := range todo {
		for gen, acked := range p.rl.acked {
			onDisk, found := p.rl.boots[gen]
			if !found {
				// A boot whose records were all overwritten by newer ones (a full ring)
				// cannot be judged here; a boot that is the newest before this one can.
				if !newestBefore(p.rl.acked, gen) {
					continue
				}
				c.violation(p.rl.at, fmt.Sprintf("%s: boot gen %d acknowledged writes up to %d, but the boot that followed (on %s) found none of its records",
					p.guest, gen, acked, p.rl.node))
				continue
			}
			if onDisk < acked {
				c.violation(p.rl.at, fmt.Sprintf("%s: boot gen %d acknowledged writes up to %d, but the disk held only up to %d when the next boot read it (on %s): %d acknowledged writes lost",
					p.guest, gen, acked, onDisk, p.rl.node, acked-onDisk))
			}
		}
	}
}

func newestBefore(acked map[uint64]uint64, gen uint64) bool {
	for g := range acked {
		if g > gen {
			return false
		}
	}
	return true
}

// readRings reads every guest's ring through librbd and checks it: split-brain writes, and
// the acknowledged writes of each boot it still holds.
func (c *checker) readRings(label string) {
	for _, g := range c.guests {
		// The acknowledgements seen before the read: each must be on disk.
		c.obs.v.mu.Lock()
		acked := map[uint64]uint64{}
		for gen, a := range c.obs.v.acks[g] {
			acked[gen] = a.maxSeq
		}
		c.obs.v.mu.Unlock()
		records, err := c.ceph.readRing(g)
		if err != nil {
			c.tl.add(event{Kind: evNote, Guest: g, Detail: "ring read failed " + label + ": " + err.Error()})
			continue
		}
		c.mu.Lock()
		c.ringReads++
		c.mu.Unlock()
		now := time.Now()
		for _, o := range ring.Overlaps(records) {
			c.violation(now, fmt.Sprintf("%s: split-brain write on disk: %s", g, o))
		}
		for gen, ids := range ring.TwinBoots(records) {
			c.violation(now, fmt.Sprintf("%s: generation %d written by %d boots (%s)", g, gen, len(ids), strings.Join(ids, ", ")))
		}
		for _, b := range ring.Boots(records) {
			if a := acked[b.Gen]; a > b.MaxSeq {
				c.violation(now, fmt.Sprintf("%s: boot gen %d acknowledged writes up to %d, the disk holds up to %d (%s)", g, b.Gen, a, b.MaxSeq, label))
			}
		}
	}
}

// finalCheck: what an operator would find at the end. It waits up to bound for the
// cluster to settle (failure-timeouts expire at the recheck interval).
func (c *checker) finalCheck(bound time.Duration) {
	start := time.Now()
	var left []string
	for {
		left = c.leftovers()
		if len(left) == 0 || time.Since(start) > bound {
			break
		}
		time.Sleep(2 * time.Second)
	}
	c.final = left
	for _, l := range left {
		c.tl.add(event{Kind: evNote, Detail: "left for an operator: " + l})
	}
	c.atRecovery("at the end")
}

// leftovers lists what is not clean now.
func (c *checker) leftovers() []string {
	var left []string
	if ok, why := c.obs.settled(time.Now().Add(-3 * time.Second)); !ok {
		left = append(left, why...)
	}
	if ok, why := c.obs.writing(time.Now().Add(-ackFresh)); !ok {
		left = append(left, why...)
	}
	if !c.obs.nodesOnline() {
		c.obs.v.mu.Lock()
		left = append(left, fmt.Sprintf("online nodes: %v", c.obs.v.online))
		c.obs.v.mu.Unlock()
	}
	node := 0
	for i := 1; i <= c.lab.nodes; i++ {
		if c.lab.on(i) {
			node = i
			break
		}
	}
	if node == 0 {
		return append(left, "no node is on")
	}
	if out, err := c.lab.onNode(10*time.Second, node, "crm_mon", "-1", "--output-as=xml"); err == nil {
		var mon struct {
			Resources []struct {
				ID      string `xml:"id,attr"`
				Managed string `xml:"managed,attr"`
				Blocked string `xml:"blocked,attr"`
				Failed  string `xml:"failed,attr"`
			} `xml:"resources>resource"`
			Failures []struct {
				OpKey string `xml:"op_key,attr"`
				Node  string `xml:"node,attr"`
			} `xml:"failures>failure"`
		}
		if xml.Unmarshal([]byte(out), &mon) == nil {
			for _, r := range mon.Resources {
				if r.Managed == "false" || r.Blocked == "true" || r.Failed == "true" {
					left = append(left, fmt.Sprintf("resource %s managed=%s blocked=%s failed=%s", r.ID, r.Managed, r.Blocked, r.Failed))
				}
			}
			for _, f := range mon.Failures {
				left = append(left, "failed action "+f.OpKey+" on "+f.Node)
			}
		}
	}
	if out, err := c.lab.onNode(10*time.Second, node, "cibadmin", "--query", "--scope", "status"); err == nil {
		var st struct {
			Nodes []struct {
				Uname string `xml:"uname,attr"`
				Attrs []struct {
					Name  string `xml:"name,attr"`
					Value string `xml:"value,attr"`
				} `xml:"transient_attributes>instance_attributes>nvpair"`
			} `xml:"node_state"`
		}
		if xml.Unmarshal([]byte(out), &st) == nil {
			for _, n := range st.Nodes {
				for _, a := range n.Attrs {
					if strings.HasPrefix(a.Name, "fail-count-") {
						left = append(left, fmt.Sprintf("%s on %s = %s", a.Name, n.Uname, a.Value))
					}
				}
			}
		}
	}
	c.obs.v.mu.Lock()
	online := slices.Clone(c.obs.v.online)
	bl := slices.Clone(c.obs.v.blocklist)
	c.obs.v.mu.Unlock()
	// Only an entry that blocks every client of a node (fence_rbd's ADDR:0/0, or a range)
	// keeps a node that is back from its storage. Entries of one client instance (librbd
	// blocklists a dead lock owner when it breaks its lock) block nobody new and expire.
	for _, n := range online {
		var i int
		fmt.Sscanf(n, "node%d", &i)
		for _, e := range bl {
			if strings.HasPrefix(e, nodeAddr(i)+":") && (strings.HasSuffix(e, ":0/0") || strings.HasPrefix(e, "range ")) {
				left = append(left, fmt.Sprintf("blocklist entry %s for %s, which is back", e, n))
			}
		}
	}
	sort.Strings(left)
	return left
}
