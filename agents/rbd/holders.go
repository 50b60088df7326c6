package rbd

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/kvmha/kvmha/agents/rbd/cephapi"
	"github.com/kvmha/kvmha/internal/deadline"
	"github.com/kvmha/kvmha/internal/ocf"
)

// How long start waits for holders to go away before refusing: a client
// that died without closing the image keeps its watch until the OSDs time
// it out (osd_client_watch_timeout, 30 s by default); a live one stays.
const (
	maxHolderWait = 40 * time.Second
	// mapReserve is kept for the map itself after the wait.
	mapReserve = 8 * time.Second
)

// refuseHolders returns nil once no client other than the blocklisted
// ones holds the image; locks of blocklisted clients are broken on the
// way. A client still there when the wait ends is named in the refusal.
func (a *agent) refuseHolders(ctx context.Context, req *ocf.Request, s settings, sess cephapi.Session) error {
	waitUntil := time.Now().Add(min(maxHolderWait, deadline.Remaining(ctx)-mapReserve))
	announced := false
	for {
		hs, err := sess.Holders(ctx, s.image())
		if err != nil {
			return ocf.Errorf(ocf.ErrGeneric, "listing the clients of %s: %v", s.spec.ImageSpec(), req.Redact(err.Error()))
		}
		var live []cephapi.Holder
		for _, h := range hs.List {
			if !h.Blocklisted {
				live = append(live, h)
				continue
			}
			if h.Kind == "locker" {
				if err := sess.BreakLock(ctx, s.image(), h); err != nil {
					return ocf.Errorf(ocf.ErrGeneric, "breaking the lock of blocklisted %s on %s: %v",
						h.Client, s.spec.ImageSpec(), req.Redact(err.Error()))
				}
				req.Log.Warnf("broke the lock of %s at %s on %s: the blocklist fences it", h.Client, h.Address, s.spec.ImageSpec())
			}
		}
		if len(live) == 0 {
			return nil
		}
		if time.Until(waitUntil) < a.holderRecheck {
			reason := fmt.Sprintf("%s is in use by %s; refusing to map it (exclusive=true)",
				s.spec.ImageSpec(), describeHolders(live))
			if hs.BlocklistUnknown != nil {
				reason += fmt.Sprintf("; the blocklist could not be read: %v", hs.BlocklistUnknown)
			}
			return ocf.Errorf(ocf.ErrGeneric, "%s", reason)
		}
		if !announced {
			req.Log.Infof("%s is held by %s: waiting up to %s for it to let go",
				s.spec.ImageSpec(), describeHolders(live), time.Until(waitUntil).Round(time.Second))
			announced = true
		}
		if err := deadline.Sleep(ctx, a.holderRecheck); err != nil {
			return ocf.Errorf(ocf.ErrGeneric, "%s is in use by %s; refusing to map it (exclusive=true)",
				s.spec.ImageSpec(), describeHolders(live))
		}
	}
}

// describeHolders names each client once: "client.4211 at
// 10.0.0.2:0/3282 (watcher, locker)".
func describeHolders(hs []cephapi.Holder) string {
	type key struct{ client, addr string }
	var order []key
	kinds := map[key][]string{}
	for _, h := range hs {
		k := key{h.Client, h.Address}
		if _, seen := kinds[k]; !seen {
			order = append(order, k)
		}
		kinds[k] = append(kinds[k], h.Kind)
	}
	var parts []string
	for _, k := range order {
		parts = append(parts, fmt.Sprintf("%s at %s (%s)", k.client, k.addr, strings.Join(kinds[k], ", ")))
	}
	return strings.Join(parts, ", ")
}
