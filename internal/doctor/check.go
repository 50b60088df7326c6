package doctor

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kvmha/kvmha/internal/agentlog"
)

// Status is a check's verdict.
type Status string

// Verdicts. Only Fail makes the command exit 1.
const (
	Pass Status = "pass"
	Warn Status = "warn" // works, but deserves attention
	Fail Status = "fail"
	Skip Status = "skip" // does not apply here; Detail says why
)

// Result is one check's outcome: what was found and, for Fail and Warn,
// what to do about it. Every field is always present in JSON, so that
// scripts can rely on the shape.
type Result struct {
	Check   string  `json:"check"`
	Family  string  `json:"family"`
	Status  Status  `json:"status"`
	Detail  string  `json:"detail"`
	Fix     string  `json:"fix"`
	Seconds float64 `json:"seconds"`
}

// Info describes a check.
type Info struct {
	Name   string // "ceph-mon"
	Family string // "ceph": --check takes either
	Doc    string // one line for the usage text
	// Budget bounds the check's run; 0 leaves only the whole run's bound.
	Budget time.Duration
}

// Check is one preflight check, in the style of node_exporter's
// collectors: small, independent, run concurrently. Run must honour ctx;
// a check that does not is abandoned when its budget is spent.
type Check interface {
	Info() Info
	Run(ctx context.Context) Result
}

// checkFunc is a Check made of its Info and a function.
type checkFunc struct {
	info Info
	run  func(ctx context.Context) Result
}

func (c checkFunc) Info() Info                     { return c.info }
func (c checkFunc) Run(ctx context.Context) Result { return c.run(ctx) }

// Result constructors for the checks.
func pass(format string, args ...any) Result {
	return Result{Status: Pass, Detail: fmt.Sprintf(format, args...)}
}

func skip(format string, args ...any) Result {
	return Result{Status: Skip, Detail: fmt.Sprintf(format, args...)}
}

func warn(fix, format string, args ...any) Result {
	return Result{Status: Warn, Detail: fmt.Sprintf(format, args...), Fix: fix}
}

func fail(fix, format string, args ...any) Result {
	return Result{Status: Fail, Detail: fmt.Sprintf(format, args...), Fix: fix}
}

// grace is how long the runner waits, after a check's deadline, for the
// check's own answer (which names what hung) before it reports the
// timeout itself.
const grace = 100 * time.Millisecond

// RunChecks runs every check concurrently, each bounded by ctx and its
// budget, and returns the results in the checks' order. A check still
// running at its deadline (plus a short grace) is abandoned and reported as
// failed; a panicking check is reported as failed too.
func RunChecks(ctx context.Context, checks []Check) []Result {
	results := make([]Result, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = runOne(ctx, c)
		}()
	}
	wg.Wait()
	return results
}

func runOne(ctx context.Context, c Check) Result {
	info := c.Info()
	cctx, cancel := ctx, context.CancelFunc(func() {})
	if info.Budget > 0 {
		cctx, cancel = context.WithTimeout(ctx, info.Budget)
	}
	defer cancel()
	start := time.Now()
	done := make(chan Result, 1) // buffered: an abandoned check must not block
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- fail("report this as a bug in kvmha doctor", "internal error: %v", p)
			}
		}()
		done <- c.Run(cctx)
	}()
	var r Result
	select {
	case r = <-done:
	case <-cctx.Done():
		select {
		case r = <-done:
		case <-time.After(grace):
			r = fail("find what hangs (a dead NFS mount, an unreachable server) or raise --timeout",
				"no answer within %s", time.Since(start).Round(time.Millisecond))
		}
	}
	if r.Status == "" {
		r = fail("report this as a bug in kvmha doctor", "the check returned no verdict")
	}
	r.Check, r.Family = info.Name, info.Family
	r.Seconds = time.Since(start).Seconds()
	return r
}

// Select returns the checks that include names (by check or family name;
// all when include is empty) minus those exclude names, in their order.
// An unknown name is an error that lists the known ones.
func Select(all []Check, include, exclude []string) ([]Check, error) {
	known := map[string]bool{}
	for _, c := range all {
		known[c.Info().Name], known[c.Info().Family] = true, true
	}
	for _, n := range append(append([]string{}, include...), exclude...) {
		if !known[n] {
			names := make([]string, 0, len(known))
			for k := range known {
				names = append(names, k)
			}
			sort.Strings(names)
			return nil, fmt.Errorf("unknown check %q (checks and families: %s)", agentlog.Clip(n), strings.Join(names, ", "))
		}
	}
	matches := func(list []string, c Check) bool {
		for _, n := range list {
			if n == c.Info().Name || n == c.Info().Family {
				return true
			}
		}
		return false
	}
	var out []Check
	for _, c := range all {
		if (len(include) == 0 || matches(include, c)) && !matches(exclude, c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// Failed reports whether any result failed.
func Failed(results []Result) bool {
	for _, r := range results {
		if r.Status == Fail {
			return true
		}
	}
	return false
}
