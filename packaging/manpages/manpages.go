// Package manpages lists kvmha's manual pages: one per binary under cmd/,
// rendered by internal/manpage from the agent's own declaration plus the
// examples and migration notes below. `make manpages` writes them to
// packaging/man/ (see gen/); test/manpages fails when those files are stale.
package manpages

import (
	"fmt"
	"sort"

	"github.com/kvmha/kvmha/agents/fencekvmha"
	"github.com/kvmha/kvmha/agents/fencelibvirt"
	"github.com/kvmha/kvmha/agents/fencerbd"
	"github.com/kvmha/kvmha/agents/hostheartbeat"
	"github.com/kvmha/kvmha/agents/o2cb"
	"github.com/kvmha/kvmha/agents/rbd"
	"github.com/kvmha/kvmha/agents/virtualdomain"
	"github.com/kvmha/kvmha/internal/admin"
	"github.com/kvmha/kvmha/internal/fence"
	"github.com/kvmha/kvmha/internal/manpage"
	"github.com/kvmha/kvmha/internal/ocf"
)

// Page is one generated manual page.
type Page struct {
	Binary  string // the cmd/ folder it documents
	File    string // file name: ocf_kvmha_rbd.7, fence_rbd.8
	Section int
	Source  []byte
}

// OCF agents: binary name → declaration and extras.
var ocfAgents = map[string]struct {
	agent  func() *ocf.Agent
	extras manpage.OCFExtras
}{
	"VirtualDomain": {func() *ocf.Agent { return virtualdomain.New(nil) }, virtualDomainExtras},
	"rbd":           {func() *ocf.Agent { return rbd.New(nil) }, rbdExtras},
	"o2cb":          {o2cb.New, o2cbExtras},
	"HostHeartbeat": {hostheartbeat.New, hostHeartbeatExtras},
}

// Fence agents.
var fenceAgents = map[string]struct {
	agent  func() *fence.Agent
	extras manpage.FenceExtras
}{
	"fence_rbd":     {fencerbd.New, fenceRBDExtras},
	"fence_libvirt": {fencelibvirt.New, fenceLibvirtExtras},
	"fence_kvmha":   {fencekvmha.New, fenceKVMHAExtras},
}

// Example is one configuration example of a page, for tests that run its commands
// (Example.Commands with Class and Agent).
type Example struct {
	File  string // the page
	Class string // "ocf" or "stonith"
	Agent string // ocf:kvmha:rbd or fence_rbd
	manpage.Example
}

// Examples lists every page's configuration examples.
func Examples() []Example {
	var out []Example
	for bin, a := range ocfAgents {
		for _, e := range a.extras.Examples {
			if e.Ops == nil {
				e.Ops = manpage.AdvertisedMonitors(a.agent().Doc())
			}
			out = append(out, Example{manpage.OCFPageName(bin) + ".7", "ocf", "ocf:kvmha:" + bin, e})
		}
	}
	for bin, a := range fenceAgents {
		for _, e := range a.extras.Examples {
			out = append(out, Example{bin + ".8", "stonith", bin, e})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].File+out[i].ID < out[j].File+out[j].ID })
	return out
}

// Pages renders every page, sorted by file name.
func Pages() ([]Page, error) {
	var pages []Page
	for bin, a := range ocfAgents {
		src, err := manpage.OCF(a.agent().Doc(), a.extras)
		if err != nil {
			return nil, err
		}
		pages = append(pages, Page{Binary: bin, File: manpage.OCFPageName(bin) + ".7", Section: 7, Source: src})
	}
	for bin, a := range fenceAgents {
		src, err := manpage.Fence(a.agent().Doc(), a.extras)
		if err != nil {
			return nil, err
		}
		pages = append(pages, Page{Binary: bin, File: bin + ".8", Section: 8, Source: src})
	}
	src, err := manpage.Command(admin.App(), kvmhaExtras)
	if err != nil {
		return nil, fmt.Errorf("kvmha: %w", err)
	}
	pages = append(pages, Page{Binary: "kvmha", File: "kvmha.8", Section: 8, Source: src})
	sort.Slice(pages, func(i, j int) bool { return pages[i].File < pages[j].File })
	return pages, nil
}
