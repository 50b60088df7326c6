package ocf

import "time"

// Pacemaker kills an agent that outlives its operation timeout and records a
// timeout, which for stop means fencing the node. The runtime therefore
// gives up first, on its own terms, with an exit reason that says why.
//
// The rule, for a budget T (OCF_RESKEY_CRM_meta_timeout, or the action's
// declared timeout when the cluster passes none):
//
//	margin = max(T/10, 2s), but never more than T/2
//	ctx deadline  = start + T - margin     (handlers should notice and return)
//	runtime quits = start + T - margin/2   (if the handler ignored ctx)
//
// so T=20s gives 18s / 19s, T=120s gives 108s / 114s, and a tiny T=1s still
// leaves the handler 0.5s. The last margin/2 covers flushing logs and exiting.
const (
	minSafetyMargin      = 2 * time.Second
	safetyMarginFraction = 10
)

// safetyMargin computes the time held back from a budget of t.
func safetyMargin(t time.Duration) time.Duration {
	margin := max(t/safetyMarginFraction, minSafetyMargin)
	return min(margin, t/2)
}

// actionDeadlines returns when the handler's context expires and when the
// runtime stops waiting for the handler.
func actionDeadlines(start time.Time, budget time.Duration) (ctxDeadline, giveUp time.Time) {
	margin := safetyMargin(budget)
	return start.Add(budget - margin), start.Add(budget - margin/2)
}

// budgetFor picks the action's time budget.
func (a *Agent) budgetFor(action string, env *Env) time.Duration {
	if env.Timeout > 0 {
		return env.Timeout
	}
	return a.timeoutFor(action)
}
