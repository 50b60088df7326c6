# kvmha — Go Pacemaker agents for KVM guests on shared storage.
#
#   make build      binaries into build/
#   make install    DESTDIR/PREFIX aware; OCF agents to /usr/lib/ocf/resource.d/kvmha/,
#                   fence agents and the kvmha command to $(PREFIX)/sbin
#   make metadata   regenerate ocf-metadata/*.xml from the agents' declarations
#   make manpages   regenerate packaging/man/ from the same declarations
#   make packages   build/packages/: .deb and .rpm of kvmha and kvmha-ceph
#   make test       install what is needed, run every test (unit, fuzz seeds, meta-data,
#                   the hostile-input sweep, lab tests against real Ceph, libvirt,
#                   Pacemaker and a kernel VM)
#   make campaign   the fault campaign on the 3-node lab (README, "Fault campaign")
#   make lab-up / lab-down, make lint, make bench, make demo

SHELL      := /bin/bash
GO         ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
GOTAGS     := pacific,netgo,osusergo
GOFLAGS    := -mod=mod
export GOFLAGS
PREFIX     ?= /usr
DESTDIR    ?=
OCFDIR     := /usr/lib/ocf/resource.d/kvmha
SBINDIR    := $(PREFIX)/sbin
BUILD      := build
STATICCHECK = $(shell $(GO) env GOPATH)/bin/staticcheck

# Every folder under cmd/ is one binary. Fence agents (fence_*) and the admin command go to
# sbin; everything else is an OCF resource agent.
BINARIES   := $(notdir $(wildcard cmd/*))
SBIN_BINS  := $(filter fence_% kvmha,$(BINARIES))
OCF_BINS   := $(filter-out $(SBIN_BINS),$(BINARIES))

.PHONY: all build install metadata deps test unit fuzz hostile lab-test lint bench demo lab-up lab-down clean

all: build

# Agents that need Ceph for a few actions only are built as one self-contained file in two
# layers: the command built with -tags kvmha_ceph (links go-ceph) is embedded into the same
# command built static without cgo, which execs it from memory for those actions, so monitors
# never load librados (internal/twin says why). Everything else is built plainly; netgo and
# osusergo keep the pure-Go binaries static too.
TWIN_BINS  := $(filter VirtualDomain rbd,$(BINARIES))
PLAIN_BINS := $(filter-out $(TWIN_BINS),$(BINARIES))

build: $(addprefix twin-,$(TWIN_BINS))
	@mkdir -p $(BUILD)
	@if [ -n "$(PLAIN_BINS)" ]; then $(GO) build -tags $(GOTAGS) -trimpath -o $(BUILD)/ $(addprefix ./cmd/,$(PLAIN_BINS)); fi

.PHONY: virtualdomain twin-%
virtualdomain: twin-VirtualDomain
twin-%:
	@mkdir -p $(BUILD)
	$(GO) build -tags $(GOTAGS),kvmha_ceph -trimpath -o cmd/$*/$*-ceph ./cmd/$*
	CGO_ENABLED=0 $(GO) build -tags $(GOTAGS),kvmha_embed -trimpath -o $(BUILD)/$* ./cmd/$*

install: build
	install -d $(DESTDIR)$(OCFDIR) $(DESTDIR)$(SBINDIR)
	@for b in $(OCF_BINS); do install -m 0755 $(BUILD)/$$b $(DESTDIR)$(OCFDIR)/$$b; done
	@for b in $(SBIN_BINS); do install -m 0755 $(BUILD)/$$b $(DESTDIR)$(SBINDIR)/$$b; done

metadata: build
	@mkdir -p ocf-metadata
	@for b in $(OCF_BINS); do $(BUILD)/$$b meta-data > ocf-metadata/$$b.xml; done
	@for b in $(filter fence_%,$(SBIN_BINS)); do $(BUILD)/$$b -o metadata > ocf-metadata/$$b.xml; done

.PHONY: manpages packages

# packaging/man/*.[78] from the agents' declarations (test/manpages keeps them current).
manpages:
	$(GO) run -tags $(GOTAGS) ./packaging/manpages/gen -o packaging/man

# build/packages/: kvmha and kvmha-ceph as .deb and .rpm (nfpm; see packaging/README.md).
packages: build
	packaging/packages

deps:
	test/lab/deps

# Every shell script: the tracked *.sh files and the lab's scripts, which have no extension
# (shellcheck's settings are in .shellcheckrc).
SHELL_SCRIPTS = $(shell git ls-files '*.sh'; git ls-files test/lab | grep -v '\.[^/]*$$')

lint: deps
	shellcheck $(SHELL_SCRIPTS)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	@# One pass over every package with the test tags (lab, hostile: only test/ has such
	@# files), one over the twins' Ceph-linked variant: each pass type-checks the tree once.
	$(GO) vet -tags $(GOTAGS),lab,hostile ./...
	$(STATICCHECK) -tags $(GOTAGS),lab,hostile ./...
	$(GO) vet -tags $(GOTAGS),kvmha_ceph $(addprefix ./cmd/,$(TWIN_BINS))
	$(STATICCHECK) -tags $(GOTAGS),kvmha_ceph $(addprefix ./cmd/,$(TWIN_BINS))

# Unit tests, fuzz seed corpora (plain go test runs them) and the meta-data checks.
unit: deps
	$(GO) test -tags $(GOTAGS) -count=1 ./...

# Each fuzz target for FUZZTIME (plain `go test` already runs their seed corpora).
FUZZTIME ?= 15s
fuzz:
	@for pkg in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
	  for f in $$(grep -h '^func Fuzz' $$pkg/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
	    echo "== $$pkg $$f"; $(GO) test -tags $(GOTAGS) -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; done

# The hostile-input sweep (as root, no lab): every built binary × action × parameter ×
# hostile value, each in a sandbox of its own namespaces (test/hostile). The report of every
# case that broke a rule goes to build/hostile-report.txt.
hostile: deps build
	KVMHA_BUILD_DIR=$(CURDIR)/$(BUILD) KVMHA_HOSTILE_REPORT=$(CURDIR)/$(BUILD)/hostile-report.txt \
	  $(GO) test -tags $(GOTAGS),hostile -count=1 -timeout 30m -v ./test/hostile

# The lab smoke and integration tests: real Ceph, libvirtd, Pacemaker, kernel VM.
lab-test: deps
	@mkdir -p $(BUILD)
	test/lab/lab-up || { test/lab/lab-down; exit 1; }
	$(GO) test -tags $(GOTAGS),lab -count=1 -timeout 75m -v ./test/... 2>&1 | tee $(BUILD)/lab-test.log; rc=$${PIPESTATUS[0]}; \
	  test/lab/lab-down; exit $$rc

test: lint unit hostile lab-test

lab-up: deps
	test/lab/lab-up

lab-down:
	test/lab/lab-down

# Each test/bench/*.sh measures one agent against its anchor in the same run, on the lab.
bench: deps build
	@if ! ls test/bench/*.sh >/dev/null 2>&1; then echo "make bench: no benchmarks yet"; exit 0; fi; \
	test/lab/lab-up || { test/lab/lab-down; exit 1; }; \
	rc=0; for b in test/bench/*.sh; do echo "== $$b"; bash $$b || rc=1; done; test/lab/lab-down; exit $$rc

# kvmha capacity --cib on a generated CIB of 32 nodes and 2,000 guests (CAPACITY_SIZES="32x2000
# 64x5000" for more), without the lab (test/bench/capacity.sh; make bench runs it too).
.PHONY: bench-capacity
bench-capacity:
	@mkdir -p $(BUILD)
	$(GO) build -tags $(GOTAGS) -trimpath -o $(BUILD)/ ./cmd/kvmha
	bash test/bench/capacity.sh

# The fault campaign on the 3-node lab (as root): CAMPAIGN_SEED, CAMPAIGN_FAULTS,
# CAMPAIGN_DURATION, CAMPAIGN_GUESTS, CAMPAIGN_KINDS, CAMPAIGN_SABOTAGE, CAMPAIGN_KEEP (see
# test/campaign/main.go); the report goes to build/campaign-SEED/.
.PHONY: campaign
campaign: deps install
	$(GO) build -tags $(GOTAGS) -o $(BUILD)/campaign ./test/campaign
	$(BUILD)/campaign

# ocf:kvmha:VirtualDomain end to end in the 3-node lab (as root): installs the packages, builds
# and installs the agent and fence_rbd, boots a guest from an RBD disk, live-migrates it, kills
# its node and shows it fenced and the guest running elsewhere, then stops the lab (test/demo.sh).
demo:
	test/demo.sh

clean:
	rm -rf $(BUILD)
