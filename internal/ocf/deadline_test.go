package ocf

import (
	"testing"
	"time"
)

func TestSafetyMargin(t *testing.T) {
	cases := []struct{ budget, margin time.Duration }{
		{20 * time.Second, 2 * time.Second},        // 10% is below the 2s floor
		{10 * time.Second, 2 * time.Second},        //
		{100 * time.Second, 10 * time.Second},      // 10%
		{600 * time.Second, 60 * time.Second},      // 10%
		{3 * time.Second, 1500 * time.Millisecond}, // floor capped at half
		{1 * time.Second, 500 * time.Millisecond},
		{200 * time.Millisecond, 100 * time.Millisecond},
		{0, 0},
	}
	for _, c := range cases {
		if got := safetyMargin(c.budget); got != c.margin {
			t.Errorf("safetyMargin(%v) = %v, want %v", c.budget, got, c.margin)
		}
	}
}

func TestActionDeadlines(t *testing.T) {
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	ctxDeadline, giveUp := actionDeadlines(start, 20*time.Second)
	if ctxDeadline.Sub(start) != 18*time.Second || giveUp.Sub(start) != 19*time.Second {
		t.Errorf("20s budget: ctx %v, give up %v", ctxDeadline.Sub(start), giveUp.Sub(start))
	}
	ctxDeadline, giveUp = actionDeadlines(start, 120*time.Second)
	if ctxDeadline.Sub(start) != 108*time.Second || giveUp.Sub(start) != 114*time.Second {
		t.Errorf("120s budget: ctx %v, give up %v", ctxDeadline.Sub(start), giveUp.Sub(start))
	}
}

func TestBudgetFor(t *testing.T) {
	a := richAgent()
	for _, c := range []struct {
		action string
		env    *Env
		want   time.Duration
	}{
		{ActionStart, &Env{}, 90 * time.Second},
		{ActionStart, &Env{Timeout: 7 * time.Second}, 7 * time.Second},
		{ActionStatus, &Env{}, 30 * time.Second}, // status uses monitor's
		{ActionPromote, &Env{}, DefaultTimeout},
		{ActionMetaData, &Env{}, metaDataTimeout},
	} {
		if got := a.budgetFor(c.action, c.env); got != c.want {
			t.Errorf("budgetFor(%s) = %v, want %v", c.action, got, c.want)
		}
	}
}
