package doctor

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kvmha/kvmha/internal/agentlog"
	"github.com/kvmha/kvmha/internal/corosyncconf"
	"github.com/kvmha/kvmha/internal/fence"
	"github.com/kvmha/kvmha/internal/files"
	"github.com/kvmha/kvmha/internal/heartbeat"
)

// checkFenceTiming: the fencing timeouts of the cluster can work. Three
// rules, each failing with the values to set:
//
//  1. Every fence_kvmha device has the time to prove a silent host dead.
//     fence_kvmha reports a host fenced when it acknowledged the fence
//     message, rebooted, or when its record stayed unchanged for its
//     HostHeartbeat timeout + watchdog_timeout + the device's margin (the
//     watchdog has reset it by then). Counted from the start of the action,
//     the record's last change may be seen up to one heartbeat interval
//     late, and opening the backends and writing the fence messages take a
//     few seconds more (fenceSlack). That sum, plus the agent's delay (and
//     pcmk_delay_base/max before Pacemaker 2.1.6, which counted them against
//     the timeout), must fit in the time Pacemaker gives the action -
//     pcmk_<stonith-action>_timeout when set (read by the fencer as whole
//     seconds), else stonith-timeout - and in the agent's own deadline
//     (power_wait + 2 x power_timeout for off, twice that for reboot, plus
//     delay: internal/fence's deadline rule).
//
//  2. The watchdog rule. sbd, which proves death the same way, wants
//     msgwait >= 2 x its watchdog timeout and stonith-timeout >= 1.2 x
//     msgwait. Here the first is true by construction: fence_kvmha waits
//     for the watchdog timeout the target's own record announces, added to
//     the time the target goes on feeding it without a quorum of backends
//     (timeout), never for a separately configured msgwait that could be
//     too short. Nor is the watchdog tied to the beat: the daemon feeds it
//     every min(interval, watchdog_timeout/4) while a quorum of backends
//     took a beat within timeout, so a watchdog of a few beats is no risk
//     (HostHeartbeat itself refuses timeout < 2 x interval, which would
//     make a healthy host look stale, and this check repeats that rule for
//     the CIB's values). What is left is sbd's second rule, which is rule 1
//     above, and a heartbeat without a watchdog (watchdog_device=none): its
//     silence proves nothing, so fence_kvmha fences only hosts alive enough
//     to acknowledge - a dead host is never reported fenced, and fencing
//     that relies on fence_kvmha alone cannot recover its guests.
//
//  3. corosync's token + consensus is less than stonith-timeout. A node is
//     declared lost token + consensus after it went silent, and only then
//     does fencing start, so that time does not count against the fence
//     timer when the target is already gone. But when the target is still a
//     member (fenced for a failed stop, or acknowledging fence_kvmha's
//     message and rebooting), the fencing is confirmed only once the new
//     membership formed - token + consensus after its death - and a
//     stonith-timeout shorter than that times out a fence that succeeded,
//     and fences again (the reasoning of crmsh's bootstrap, which sets
//     stonith-timeout >= max(60 s, token + consensus); corosync's
//     token is 3000 ms by default, plus token_coefficient (650 ms) for every
//     node past two in the nodelist, and consensus 1.2 x token).
func (d *Doctor) checkFenceTiming(ctx context.Context) Result {
	data, err := d.CIB(ctx)
	switch {
	case errors.Is(err, ErrNoPacemaker):
		return skip("no Pacemaker here (no cibadmin), and no --cib given")
	case err != nil:
		return warn("start the cluster on this node (pcs cluster start), or give a saved CIB: cibadmin --query > FILE, then --cib FILE",
			"cannot read the CIB: %v", err)
	}
	cib, err := parseCIBConfig(data)
	if err != nil {
		return fail("give the CIB as cibadmin --query prints it", "the CIB: %v", err)
	}
	if v, ok := cib.props["stonith-enabled"]; ok && pacemakerFalse(v) {
		return skip("fencing is disabled (stonith-enabled=%s): there is no fencing to time", agentlog.Clip(v))
	}
	t := readClusterTiming(cib)
	var found findings
	found.notes = append(found.notes, t.notes...)
	found.notes = append(found.notes, cib.notes...)
	hbs, hbCount := heartbeatsOf(cib, &found)
	devices := 0
	for _, p := range cib.primitives {
		if p.class == "stonith" && p.agent == "fence_kvmha" && !p.stopped() {
			devices++
			judgeKVMHADevice(p, hbs, hbCount, t, &found)
		}
	}
	if devices > 0 {
		judgeWatchdogs(hbs, cib, &found)
	}
	corosync := d.judgeCorosync(ctx, t, &found)
	if devices == 0 && !corosync {
		return skip("no fence_kvmha device in the CIB and no /etc/corosync/corosync.conf: nothing to judge")
	}
	return found.result()
}

// fenceSlack is what a fence_kvmha action spends besides the staleness it
// waits for: starting, opening the backends (a RADOS connection takes well
// under a second on a healthy cluster), and writing the fence messages and
// reading the records, each bounded by 2 s.
const fenceSlack = 5 * time.Second

// Pacemaker's and corosync's own defaults, which the CIB and
// corosync.conf leave out when they are not changed.
const (
	pacemakerStonithTimeout = 60 * time.Second // stonith-timeout
	corosyncToken           = 3000 * time.Millisecond
	corosyncTokenCoeff      = 650 * time.Millisecond
)

// clusterTiming is what the CIB's cluster options say about fencing.
type clusterTiming struct {
	stonithTimeout time.Duration
	timeoutSource  string // "stonith-timeout=90s", or "stonith-timeout (default 60s)"
	action         string // "reboot" or "off"
	// delayCounts: the fencer counts pcmk_delay_base/max against the
	// action's timeout (Pacemaker before 2.1.6, or a version not known).
	delayCounts bool
	notes       []string
}

func readClusterTiming(cib *cibConfig) clusterTiming {
	t := clusterTiming{stonithTimeout: pacemakerStonithTimeout, action: "reboot", delayCounts: true,
		timeoutSource: "stonith-timeout (default " + seconds(pacemakerStonithTimeout) + ")"}
	if v, ok := cib.props["stonith-timeout"]; ok {
		if d, ok := pacemakerInterval(v); ok && d > 0 {
			t.stonithTimeout, t.timeoutSource = d, "stonith-timeout="+agentlog.Clip(v)
		} else {
			t.notes = append(t.notes, fmt.Sprintf("stonith-timeout=%q is no time Pacemaker reads: it uses its default, %s",
				agentlog.Clip(v), seconds(pacemakerStonithTimeout)))
		}
	}
	switch a := strings.ToLower(strings.TrimSpace(cib.props["stonith-action"])); a {
	case "off", "poweroff": // poweroff: Pacemaker's old name of off
		t.action = "off"
	}
	if v, ok := cib.props["dc-version"]; ok {
		t.delayCounts = versionBefore(v, 2, 1, 6)
	}
	return t
}

// versionBefore reports whether a dc-version ("2.1.5-a3f44794f94") is older
// than major.minor.patch; true when it cannot be read (the cautious side).
func versionBefore(v string, major, minor, patch int) bool {
	v, _, _ = strings.Cut(strings.TrimSpace(v), "-")
	parts := strings.Split(v, ".")
	want := []int{major, minor, patch}
	for i, w := range want {
		n := 0 // "2.1" is 2.1.0
		if i < len(parts) {
			var err error
			if n, err = strconv.Atoi(parts[i]); err != nil {
				return true
			}
		}
		if n != w {
			return n < w
		}
	}
	return false
}

// hbTiming is one HostHeartbeat resource's timing, defaults applied.
type hbTiming struct {
	id                          string
	backends                    string // sorted, blank-separated
	interval, timeout, watchdog time.Duration
	noWatchdog                  bool
}

// heartbeatsOf reads every ocf:kvmha:HostHeartbeat resource: those it can
// judge, and how many there are. A value HostHeartbeat would refuse is a
// failure of its own: the resource does not start with it.
func heartbeatsOf(cib *cibConfig, out *findings) (hbs []hbTiming, count int) {
	for _, p := range cib.primitives {
		if p.class != "ocf" || p.provider != "kvmha" || p.agent != "HostHeartbeat" {
			continue
		}
		count++
		h := hbTiming{id: p.id, backends: backendSet(p.params["backends"]),
			interval: heartbeat.DefaultInterval, timeout: heartbeat.DefaultTimeout, watchdog: heartbeat.DefaultWatchdogTimeout}
		ok := true
		for _, f := range []struct {
			name string
			d    *time.Duration
		}{{"interval", &h.interval}, {"timeout", &h.timeout}, {"watchdog_timeout", &h.watchdog}} {
			v := strings.TrimSpace(p.params[f.name])
			if v == "" {
				continue
			}
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 || n > 1e6 {
				out.fail(fmt.Sprintf("pcs resource update %s %s=<whole seconds>", p.id, f.name),
					"HostHeartbeat %s: %s=%q is not a positive whole number of seconds (the resource does not start with it)",
					p.id, f.name, agentlog.Clip(v))
				ok = false
				continue
			}
			*f.d = time.Duration(n) * time.Second
		}
		if dev := strings.TrimSpace(p.params["watchdog_device"]); dev == "none" {
			h.noWatchdog = true
		}
		if ok && h.timeout < 2*h.interval {
			out.fail(fmt.Sprintf("pcs resource update %s timeout=%d", p.id, ceilSeconds(2*h.interval)),
				"HostHeartbeat %s: timeout %s is less than twice its interval %s: a healthy host would look stale (the resource does not start with it)",
				p.id, seconds(h.timeout), seconds(h.interval))
			ok = false
		}
		if ok {
			hbs = append(hbs, h)
		}
	}
	return hbs, count
}

// backendSet normalises a backends value for comparison.
func backendSet(s string) string {
	f := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
	sort.Strings(f)
	return strings.Join(f, " ")
}

// judgeKVMHADevice applies rule 1 to one fence_kvmha device: against the
// HostHeartbeat resources on its backends (all of them when none matches),
// the slowest one.
func judgeKVMHADevice(p cibPrimitive, hbs []hbTiming, hbCount int, t clusterTiming, out *findings) {
	var cands []hbTiming
	for _, h := range hbs {
		if !h.noWatchdog && h.backends == backendSet(p.params["backends"]) {
			cands = append(cands, h)
		}
	}
	if len(cands) == 0 {
		for _, h := range hbs {
			if !h.noWatchdog {
				cands = append(cands, h)
			}
		}
	}
	if len(cands) == 0 {
		if hbCount == 0 {
			out.warn("create the heartbeat on every host: pcs resource create <id> ocf:kvmha:HostHeartbeat backends=<the device's backends> clone",
				"fence_kvmha device %s reads the hosts' heartbeats, but the CIB has no ocf:kvmha:HostHeartbeat resource writing them: it can fence no host", p.id)
		}
		return // heartbeats without a watchdog, or refused: said elsewhere
	}
	h := slices.MaxFunc(cands, func(a, b hbTiming) int {
		return cmp.Compare(a.timeout+a.watchdog+a.interval, b.timeout+b.watchdog+b.interval)
	})
	margin := heartbeat.DefaultMargin
	if v := strings.TrimSpace(p.params["margin"]); v != "" {
		d, ok := agentSeconds(v)
		if !ok {
			out.fail(fmt.Sprintf("pcs stonith update %s margin=%d", p.id, ceilSeconds(heartbeat.DefaultMargin)),
				"fence_kvmha device %s: margin=%q is not a number of seconds (the agent refuses it)", p.id, agentlog.Clip(v))
			return
		}
		margin = d
	}
	opt := func(name string) time.Duration {
		if d, ok := agentSeconds(p.params[name]); ok && strings.TrimSpace(p.params[name]) != "" {
			return d
		}
		return fenceRuntimeDefault(name)
	}
	delay, powerTimeout, powerWait := opt(fence.OptDelay), opt(fence.OptPowerTimeout), opt(fence.OptPowerWait)
	proof := h.timeout + h.watchdog + margin
	need := proof + h.interval + fenceSlack + delay
	parts := fmt.Sprintf("%s's timeout %s + watchdog_timeout %s + margin %s + one interval %s + %s to open the backends and write the fence messages",
		h.id, seconds(h.timeout), seconds(h.watchdog), seconds(margin), seconds(h.interval), seconds(fenceSlack))
	if delay > 0 {
		parts += " + delay " + seconds(delay)
	}
	pcmkNeed, pcmkParts := need, parts
	if t.delayCounts {
		if pd := pacemakerDelay(p.params); pd > 0 {
			pcmkNeed += pd
			pcmkParts += " + pcmk_delay " + seconds(pd) + " (Pacemaker before 2.1.6 counts it)"
		}
	}

	// What Pacemaker gives the action.
	key := "pcmk_" + t.action + "_timeout"
	limit, source := t.stonithTimeout, t.timeoutSource
	misread := ""
	if v, ok := p.params[key]; ok {
		limit, source = fencerSeconds(v), key+"="+agentlog.Clip(v)
		if d, ok := pacemakerInterval(v); ok && d.Truncate(time.Second) != limit {
			misread = fmt.Sprintf(" (Pacemaker's fencer reads %s as whole seconds: %q is %s, not %s)", key, agentlog.Clip(v), seconds(limit), seconds(d))
		}
	}
	suggest := ceilSeconds(pcmkNeed * 6 / 5) // a fifth more, as sbd's stonith-timeout over msgwait
	if pcmkNeed > limit {
		out.fail(fmt.Sprintf("give the device more time (in whole seconds, no unit): pcs stonith update %s %s=%d; or shorten HostHeartbeat's timeout or watchdog_timeout",
			p.id, key, suggest),
			"fence_kvmha device %s needs up to %s to prove a silent host dead (%s), but Pacemaker gives its %s %s (%s)%s",
			p.id, seconds(pcmkNeed), pcmkParts, t.action, seconds(limit), source, misread)
	} else if misread != "" {
		out.warn(fmt.Sprintf("write it in whole seconds: pcs stonith update %s %s=%d", p.id, key, max(suggest, ceilSeconds(limit))),
			"fence_kvmha device %s: %s%s", p.id, source, misread)
	}

	// What the agent gives itself (internal/fence's deadline rule).
	budget, formula := powerWait+2*powerTimeout+delay, fmt.Sprintf("power_wait %s + 2 x power_timeout %s + delay %s",
		seconds(powerWait), seconds(powerTimeout), seconds(delay))
	pt := (need - delay - powerWait) / 2
	if t.action == "reboot" {
		budget = 2*(powerWait+2*powerTimeout) + delay
		formula = fmt.Sprintf("2 x (power_wait %s + 2 x power_timeout %s) + delay %s", seconds(powerWait), seconds(powerTimeout), seconds(delay))
		pt = (need - delay - 2*powerWait) / 4
	}
	if need > budget {
		out.fail(fmt.Sprintf("pcs stonith update %s power_timeout=%d", p.id, ceilSeconds(pt)),
			"fence_kvmha device %s needs up to %s to prove a silent host dead (%s), but the agent's own deadline for %s ends after %s (%s)",
			p.id, seconds(need), parts, t.action, seconds(budget), formula)
	}
	if pcmkNeed <= limit && need <= budget {
		out.pass(fmt.Sprintf("fence_kvmha %s needs up to %s of its %s (%s) and of its own %s", p.id, seconds(pcmkNeed), seconds(limit), source, seconds(budget)))
	}
}

// pacemakerDelay is the longest start delay the fencer may add: the larger
// of pcmk_delay_max and pcmk_delay_base (whose node:value map, if any,
// gives its largest value).
func pacemakerDelay(params map[string]string) time.Duration {
	var d time.Duration
	if v, ok := pacemakerInterval(params["pcmk_delay_max"]); ok {
		d = v
	}
	for _, part := range strings.FieldsFunc(params["pcmk_delay_base"], func(r rune) bool { return r == ';' || r == ' ' }) {
		if _, val, ok := strings.Cut(part, ":"); ok {
			part = val
		}
		if v, ok := pacemakerInterval(part); ok && v > d {
			d = v
		}
	}
	return d.Truncate(time.Second) // the fencer waits whole seconds
}

// fenceRuntimeDefault is the default of one of the options every kvmha
// fence agent takes (power_timeout, power_wait, delay), as internal/fence
// declares it.
func fenceRuntimeDefault(name string) time.Duration {
	a := &fence.Agent{Name: "fence_kvmha", Off: func(context.Context, *fence.Request) error { return nil }}
	for _, o := range a.Doc().Options {
		if o.Name == name {
			d, _ := agentSeconds(o.Default)
			return d
		}
	}
	return 0
}

// judgeWatchdogs applies rule 2's last part: a heartbeat without a watchdog
// cannot be fenced by staleness. That fails when fence_kvmha is the only
// kind of device; beside another (a power switch at a later level) it is a
// warning.
func judgeWatchdogs(hbs []hbTiming, cib *cibConfig, out *findings) {
	others := false
	for _, p := range cib.primitives {
		if p.class == "stonith" && p.agent != "fence_kvmha" && !p.stopped() {
			others = true
		}
	}
	for _, h := range hbs {
		if !h.noWatchdog {
			continue
		}
		fix := fmt.Sprintf("give the heartbeat a watchdog: pcs resource update %s watchdog_device=/dev/watchdog (a hardware watchdog, or modprobe softdog)", h.id)
		msg := fmt.Sprintf("HostHeartbeat %s runs without a watchdog (watchdog_device=none): its silence proves nothing, "+
			"so fence_kvmha fences only hosts alive enough to acknowledge the fence message, never a dead or hung one", h.id)
		if others {
			out.warn(fix+", or make sure a power fencing device follows fence_kvmha in every fencing level", "%s", msg)
		} else {
			out.fail(fix+", or add a power fencing device", "%s; no other fencing device is configured", msg)
		}
	}
}

// judgeCorosync applies rule 3. It returns false when there is no
// corosync.conf to read.
func (d *Doctor) judgeCorosync(ctx context.Context, t clusterTiming, out *findings) bool {
	const path = "/etc/corosync/corosync.conf"
	data, err := files.Read(ctx, d.Root.path(path), corosyncconf.MaxSize)
	if errors.Is(err, fs.ErrNotExist) {
		return false
	}
	if err != nil {
		out.warn("make "+path+" readable", "%s: %v", path, files.Cause(err))
		return true
	}
	cfg, err := corosyncconf.Parse(data)
	if err != nil {
		out.warn("correct "+path+" (corosync refuses it too)", "%s: %v", path, err)
		return true
	}
	tt, err := parseTotemTimes(data, len(cfg.Nodes))
	if err != nil {
		out.warn("correct "+path+" (corosync refuses it too)", "%s: %v", path, err)
		return true
	}
	total := tt.token + tt.consensus
	if total >= t.stonithTimeout {
		suggest := max(ceilSeconds(pacemakerStonithTimeout), ceilSeconds(total)+ceilSeconds(pacemakerStonithTimeout)/2)
		out.fail(fmt.Sprintf("pcs property set stonith-timeout=%ds, or shorten corosync's token in %s", suggest, path),
			"corosync's token %s + consensus %s = %s (%s) is not less than %s: a fence of a node still in the membership is confirmed only "+
				"once corosync has dropped it, and would time out first", seconds(tt.token), seconds(tt.consensus), seconds(total), tt.source,
			t.timeoutSource)
		return true
	}
	out.pass(fmt.Sprintf("corosync's token + consensus %s < %s", seconds(total), t.timeoutSource))
	return true
}

// totemTimes is corosync's failure detection, its defaults applied.
type totemTimes struct {
	token, consensus time.Duration
	source           string // how they were found, for messages
}

// parseTotemTimes reads totem.token, token_coefficient and consensus (in
// milliseconds) from a corosync.conf that corosyncconf.Parse accepted,
// and applies corosync's rules: the token grows by token_coefficient for
// every node past two in the nodelist, and consensus defaults to 1.2 x
// that token.
func parseTotemTimes(data []byte, nodes int) (totemTimes, error) {
	vals := map[string]string{}
	var path []string
	for _, raw := range strings.Split(string(data), "\n") {
		line := strings.TrimSpace(raw)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasSuffix(line, "{"):
			path = append(path, strings.TrimSpace(strings.TrimSuffix(line, "{")))
		case line == "}":
			if len(path) > 0 {
				path = path[:len(path)-1]
			}
		default:
			key, value, _ := strings.Cut(line, ":")
			if len(path) == 1 && path[0] == "totem" {
				vals[strings.TrimSpace(key)] = strings.TrimSpace(value)
			}
		}
	}
	ms := func(key string, dflt time.Duration) (time.Duration, bool, error) {
		v, ok := vals[key]
		if !ok {
			return dflt, false, nil
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return 0, true, fmt.Errorf("totem.%s %q is not a number of milliseconds", key, agentlog.Clip(v))
		}
		return time.Duration(n) * time.Millisecond, true, nil
	}
	token, tokenSet, err := ms("token", corosyncToken)
	if err != nil {
		return totemTimes{}, err
	}
	coeff, _, err := ms("token_coefficient", corosyncTokenCoeff)
	if err != nil {
		return totemTimes{}, err
	}
	var src []string
	if tokenSet {
		src = append(src, "token "+vals["token"]+" ms")
	} else {
		src = append(src, "default token "+strconv.FormatInt(corosyncToken.Milliseconds(), 10)+" ms")
	}
	if nodes >= 3 {
		token += time.Duration(nodes-2) * coeff
		src = append(src, fmt.Sprintf("+ %d x token_coefficient %d ms for %d nodes", nodes-2, coeff.Milliseconds(), nodes))
	}
	consensus, consensusSet, err := ms("consensus", 0)
	if err != nil {
		return totemTimes{}, err
	}
	if !consensusSet {
		consensus = token * 6 / 5
		src = append(src, "consensus 1.2 x token")
	}
	return totemTimes{token: token, consensus: consensus, source: strings.Join(src, ", ")}, nil
}

// findings gathers a check's verdicts on several things at once.
type findings struct {
	fails, warns  []Result
	passes, notes []string
}

func (f *findings) fail(fix, format string, args ...any) {
	f.fails = append(f.fails, fail(fix, format, args...))
}

func (f *findings) warn(fix, format string, args ...any) {
	f.warns = append(f.warns, warn(fix, format, args...))
}

func (f *findings) pass(what string) { f.passes = append(f.passes, what) }

// result is the worst verdict, with every finding of that rank, what
// passed, and the notes.
func (f *findings) result() Result {
	join := func(rs []Result) (string, string) {
		var ds, fixes []string
		for _, r := range rs {
			ds = append(ds, r.Detail)
			if !slices.Contains(fixes, r.Fix) {
				fixes = append(fixes, r.Fix)
			}
		}
		return strings.Join(ds, "; "), strings.Join(fixes, "; ")
	}
	tail := ""
	if len(f.notes) > 0 {
		tail = " (" + strings.Join(f.notes, "; ") + ")"
	}
	switch {
	case len(f.fails) > 0:
		d, fix := join(f.fails)
		if len(f.warns) > 0 {
			wd, wfix := join(f.warns)
			d, fix = d+"; also: "+wd, fix+"; "+wfix
		}
		return fail(fix, "%s%s", d, tail)
	case len(f.warns) > 0:
		d, fix := join(f.warns)
		if len(f.passes) > 0 {
			d += "; " + strings.Join(f.passes, "; ")
		}
		return warn(fix, "%s%s", d, tail)
	}
	return pass("%s%s", strings.Join(f.passes, "; "), tail)
}
