//go:build hostile

package hostile

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

func TestMain(m *testing.M) {
	if os.Getenv(sandboxEnv) != "" {
		os.Exit(sandboxMain())
	}
	os.Exit(m.Run())
}

// Bounds every invocation must keep.
const (
	maxRSSKiB      = 200 << 10 // peak resident memory
	maxStderrBytes = 64 << 10  // all log output of one invocation
	maxLineBytes   = 4 << 10   // one log line
	maxReasonBytes = 160       // "ocf-exit-reason:" and its text
)

// TestHostileInput runs every binary × action × parameter × hostile value (see cases_test.go)
// in the sandbox and checks the rules every invocation must keep, whatever its input.
func TestHostileInput(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("the sweep needs root: it runs each invocation in its own namespaces")
	}
	binDir := builtBinaries(t)
	t.Setenv(keepEnv, binDir) // a checkout under /tmp: the sandbox binds it back
	fx := commonFixtures()
	var cases []testCase
	for _, b := range binaries(binDir) {
		switch b.kind {
		case "ocf":
			cases = append(cases, ocfCases(b, binDir, fx)...)
		case "fence":
			cases = append(cases, fenceCases(b, binDir, fx)...)
		}
	}
	cases = append(cases, commandCases(binDir, fx)...)
	if only := os.Getenv("KVMHA_HOSTILE_ONLY"); only != "" {
		// A prefix of the case's name: "rbd " is rbd's cases, not fence_rbd's.
		cases = slices.DeleteFunc(cases, func(c testCase) bool { return !strings.HasPrefix(c.String(), only) })
	}

	outcomes := runAll(t, cases)
	baselines := map[string]outcome{}
	for i, c := range cases {
		if c.param == "" && c.kind == "" {
			baselines[c.binary+" "+c.action] = outcomes[i]
		}
	}
	var violations []violation
	perBinary := map[string]int{}
	for i, c := range cases {
		perBinary[c.binary]++
		for _, v := range check(c, outcomes[i], baselines[c.binary+" "+c.action]) {
			violations = append(violations, violation{c, outcomes[i], v})
		}
	}
	report(t, cases, outcomes, perBinary, violations)
}

type violation struct {
	c    testCase
	out  outcome
	rule string
}

// check applies every rule to one outcome. baseline is the same action's outcome with no
// hostile value.
func check(c testCase, out outcome, baseline outcome) []string {
	var bad []string
	add := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }
	if out.Err != "" {
		return []string{"harness: " + out.Err}
	}
	text := out.Stdout + out.Stderr
	switch {
	case out.Killed && !c.daemon:
		add("deadline: still running %s after its %s deadline; killed", out.Wall.Round(time.Millisecond), c.deadline)
	case out.Signal != "" && !out.Killed:
		add("crash: killed by %s", out.Signal)
	}
	if strings.Contains(text, "panic:") || strings.Contains(text, "goroutine ") && strings.Contains(text, "[running]") ||
		strings.Contains(text, "fatal error:") || strings.Contains(text, "SIGSEGV") {
		add("crash: panic or runtime error in the output: %s", firstLines(between(text, "panic:", "fatal error:"), 3))
	}
	if out.MaxRSSKiB > maxRSSKiB {
		add("memory: peak RSS %d MiB (bound %d MiB)", out.MaxRSSKiB>>10, maxRSSKiB>>10)
	}
	if c.mustBe >= 0 && out.Code != c.mustBe && !out.Killed {
		add("exit code: %d, must be %d: %s", out.Code, c.mustBe, lastLine(out.Stderr))
	}
	if out.StderrBytes > maxStderrBytes {
		add("log volume: %d bytes on stderr (bound %d)", out.StderrBytes, maxStderrBytes)
	}
	for _, line := range strings.Split(out.Stderr, "\n") {
		if len(line) > maxLineBytes {
			add("log line: %d bytes (bound %d): %.80s…", len(line), maxLineBytes, line)
			break
		}
	}
	if !utf8.ValidString(out.Stderr) && out.StderrBytes <= outputCap {
		add("log encoding: invalid UTF-8 on stderr")
	}
	// A separator is printed between list fields by design, whatever it is.
	if strings.Contains(text, secretMarker) && c.param != "separator" {
		add("secret: a key-like value was printed")
	}
	switch {
	case strings.HasPrefix(c.action, "monitor-probe") && c.param != "" && !out.Killed:
		// Nothing was started in the sandbox: a probe says "not running", or, if the baseline
		// itself cannot tell (and says so), the same as the baseline.
		if out.Code != 7 && out.Code != baseline.Code {
			add("probe: exit %d where nothing was started (baseline %d): %s", out.Code, baseline.Code, lastLine(out.Stderr))
		}
	}
	if c.inv.Argv != nil && isOCF(c) {
		bad = append(bad, checkExitReason(c, out, baseline)...)
	}
	if c.binary == "kvmha" {
		bad = append(bad, checkCommandExit(c, out)...)
	}
	return bad
}

func isOCF(c testCase) bool {
	switch c.binary {
	case "VirtualDomain", "rbd", "o2cb", "HostHeartbeat":
		return true
	}
	return false
}

// checkExitReason: an OCF failure has exactly one short ocf-exit-reason line; a
// configuration error the baseline does not have names the parameter.
func checkExitReason(c testCase, out outcome, baseline outcome) []string {
	if out.Code == 0 || out.Code == 7 || out.Code == 8 || out.Killed {
		return nil
	}
	var reasons []string
	for _, line := range strings.Split(out.Stderr, "\n") {
		if strings.HasPrefix(line, "ocf-exit-reason:") {
			reasons = append(reasons, line)
		}
	}
	switch {
	case len(reasons) == 0:
		return []string{fmt.Sprintf("exit reason: exit %d without an ocf-exit-reason line", out.Code)}
	case len(reasons) > 1:
		return []string{fmt.Sprintf("exit reason: %d ocf-exit-reason lines", len(reasons))}
	case len(reasons[0]) > maxReasonBytes:
		return []string{fmt.Sprintf("exit reason: %d bytes", len(reasons[0]))}
	}
	configError := out.Code == 2 || out.Code == 6
	baselineConfigError := baseline.Code == 2 || baseline.Code == 6
	if c.param != "" && configError && !baselineConfigError && !strings.Contains(reasons[0], c.param) {
		return []string{fmt.Sprintf("exit reason: does not name %s: %s", c.param, reasons[0])}
	}
	return nil
}

// checkCommandExit: kvmha exits 0, 1 (a finding) or 2 (bad usage or input); a value its
// flag's type cannot hold is bad usage.
func checkCommandExit(c testCase, out outcome) []string {
	if out.Killed {
		return nil
	}
	if out.Code < 0 || out.Code > 2 {
		return []string{fmt.Sprintf("exit code: %d (kvmha exits 0, 1 or 2)", out.Code)}
	}
	typed := c.param == "timeout" || c.param == "slots" || c.param == "syslog"
	validBoolean := c.param == "syslog" && c.kind == "zero" // --syslog=0 is a fine false
	if typed && !validBoolean && c.kind != "" && out.Code != 2 {
		return []string{fmt.Sprintf("exit code: %d for --%s=<%s>, a usage error (2)", out.Code, c.param, c.kind)}
	}
	return nil
}

func between(s, a, b string) string {
	if i := strings.Index(s, a); i >= 0 {
		return s[i:]
	}
	if i := strings.Index(s, b); i >= 0 {
		return s[i:]
	}
	return s
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	l := lines[len(lines)-1]
	if len(l) > 200 {
		l = l[:200] + "…"
	}
	return l
}

// runAll runs the cases on one sandbox per worker.
func runAll(t *testing.T, cases []testCase) []outcome {
	workers := 3 * runtime.NumCPU()
	if w := os.Getenv("KVMHA_HOSTILE_WORKERS"); w != "" {
		fmt.Sscan(w, &workers)
	}
	outcomes := make([]outcome, len(cases))
	next := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var sandboxErr error
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sb, err := startSandbox()
			if err != nil {
				mu.Lock()
				sandboxErr = err
				mu.Unlock()
				for range next {
				}
				return
			}
			defer func() { sb.close() }()
			served := 0
			for i := range next {
				out, err := sb.run(cases[i].inv)
				served++
				if err != nil {
					out.Err = err.Error()
					if strings.HasPrefix(err.Error(), "sandbox gone") {
						sb.close()
						if served == 1 {
							err = fmt.Errorf("the sandbox died on its first case: %w", err)
						} else {
							sb, err = startSandbox()
							served = 0
						}
						if err != nil {
							mu.Lock()
							sandboxErr = err
							mu.Unlock()
							for range next {
							}
							return
						}
					}
				}
				outcomes[i] = out
			}
		}()
	}
	for i := range cases {
		next <- i
		if i > 0 && i%2000 == 0 {
			t.Logf("%d of %d cases run (%s)", i, len(cases), time.Since(start).Round(time.Second))
		}
	}
	close(next)
	wg.Wait()
	if sandboxErr != nil {
		t.Fatalf("sandbox: %v", sandboxErr)
	}
	t.Logf("%d cases in %s on %d sandboxes", len(cases), time.Since(start).Round(time.Second), workers)
	return outcomes
}

// report prints the counts and every violation, grouped by rule; the full list also goes to
// KVMHA_HOSTILE_REPORT when set.
func report(t *testing.T, cases []testCase, outcomes []outcome, perBinary map[string]int, violations []violation) {
	var b strings.Builder
	fmt.Fprintf(&b, "hostile-input sweep: %d cases", len(cases))
	for _, name := range slices.Sorted(maps.Keys(perBinary)) {
		fmt.Fprintf(&b, ", %s %d", name, perBinary[name])
	}
	// Where the sweep's time goes: the slowest actions, summed over their cases.
	type group struct {
		name  string
		n     int
		total time.Duration
	}
	groups := map[string]*group{}
	for i, c := range cases {
		key := c.binary + " " + c.action
		if groups[key] == nil {
			groups[key] = &group{name: key}
		}
		groups[key].n++
		groups[key].total += outcomes[i].Wall
	}
	sorted := slices.SortedFunc(maps.Values(groups), func(a, b *group) int { return int(b.total - a.total) })
	fmt.Fprintf(&b, "\nslowest actions:")
	for _, g := range sorted[:min(8, len(sorted))] {
		fmt.Fprintf(&b, " %s %d×%s;", g.name, g.n, (g.total / time.Duration(g.n)).Round(time.Millisecond))
	}
	fmt.Fprintf(&b, "\n%d violations\n", len(violations))
	byRule := map[string][]violation{}
	for _, v := range violations {
		rule, _, _ := strings.Cut(v.rule, ":")
		byRule[rule] = append(byRule[rule], v)
	}
	var full, short strings.Builder
	full.WriteString(b.String())
	short.WriteString(b.String())
	for _, rule := range slices.Sorted(maps.Keys(byRule)) {
		vs := byRule[rule]
		fmt.Fprintf(&full, "== %s: %d\n", rule, len(vs))
		fmt.Fprintf(&short, "== %s: %d\n", rule, len(vs))
		for i, v := range vs {
			line := fmt.Sprintf("  %s: %s\n", v.c, v.rule)
			full.WriteString(line)
			if i < 15 {
				short.WriteString(line)
			} else if i == 15 {
				short.WriteString("  …\n")
			}
		}
	}
	if path := os.Getenv("KVMHA_HOSTILE_REPORT"); path != "" {
		if err := os.WriteFile(path, []byte(full.String()), 0o644); err != nil {
			t.Errorf("report: %v", err)
		}
	}
	if len(violations) == 0 {
		t.Log(short.String())
		return
	}
	t.Error(short.String() + "(every violation: KVMHA_HOSTILE_REPORT, build/hostile-report.txt under make)")
}

// builtBinaries is the directory of the binaries `make build` made: KVMHA_BUILD_DIR, or a
// fresh `make build` into build/hostile-bin (the sandbox keeps it reachable even when the
// checkout is under /tmp, which the sandbox replaces by its own).
func builtBinaries(t *testing.T) string {
	if dir := os.Getenv("KVMHA_BUILD_DIR"); dir != "" {
		return dir
	}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	dir, err := filepath.Abs(filepath.Join(root, "build", "hostile-bin"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("make", "-C", root, "build", "BUILD="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make build: %v\n%s", err, out)
	}
	return dir
}
