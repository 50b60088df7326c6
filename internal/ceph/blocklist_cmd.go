package ceph

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Blocklist reads the OSD map's blocklist ("osd blocklist ls").
func (c *Conn) Blocklist(ctx context.Context) (Blocklist, error) {
	out, err := c.monCommand(ctx, map[string]string{"prefix": "osd blocklist ls", "format": "json"})
	if err != nil {
		return nil, err
	}
	return DecodeBlocklist(out)
}

// IsBlocklisted reads the blocklist and reports whether addr is blocked.
func (c *Conn) IsBlocklisted(ctx context.Context, addr EntityAddr) (bool, error) {
	bl, err := c.Blocklist(ctx)
	if err != nil {
		return false, err
	}
	return bl.IsBlocklisted(addr), nil
}

// ErrRangeUnsupported is returned when the cluster has no range blocklists
// (Ceph before 16.2.11 / Quincy).
var ErrRangeUnsupported = errors.New("this cluster does not support range blocklists")

// BlocklistAdd adds e for expire (rounded to a tenth of a second; must be
// positive: the monitors take 0 as "expired now"). Adding an entry that is
// present only moves its expiry.
func (c *Conn) BlocklistAdd(ctx context.Context, e BlocklistEntry, expire time.Duration) error {
	if expire < 100*time.Millisecond {
		return fmt.Errorf("ceph: blocklist %s: expire %s is too short", e, expire)
	}
	return c.blocklist(ctx, newBlocklistCommand("add", e, expire))
}

// BlocklistRemove removes e; removing an absent entry is no error.
func (c *Conn) BlocklistRemove(ctx context.Context, e BlocklistEntry) error {
	return c.blocklist(ctx, newBlocklistCommand("rm", e, 0))
}

func (c *Conn) blocklist(ctx context.Context, cmd blocklistCommand) error {
	_, err := c.monCommand(ctx, cmd)
	if err != nil && cmd.Range != "" && Errno(err) == errnoInvalid {
		return fmt.Errorf("%w (%v)", ErrRangeUnsupported, err)
	}
	return err
}
