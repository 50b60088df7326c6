package ceph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// The monitors' clocks. In Pacific the only read-only monitor command whose
// answer carries the monitor's current wall clock is "report": its
// "timestamp" field is taken when the monitor handles the command. (Mon
// commands sent to one monitor by name are tell commands, which need
// "allow *"; ping, mon_status and quorum_status carry no current time;
// time-sync-status gives the monitors' skews against their leader only.)
// Both commands below need mon 'allow r', which profile rbd includes.

// MonTimestamp returns the "timestamp" of the report of the monitor this
// session talks to, as Ceph prints it ("2024-05-01T10:00:00.123456+0000").
// The report holds the cluster's maps, so it grows with the cluster (tens of
// KiB for a small one); only its first fields are decoded.
func (c *Conn) MonTimestamp(ctx context.Context) (string, error) {
	out, err := c.monCommand(ctx, map[string]string{"prefix": "report", "format": "json"})
	if err != nil {
		return "", err
	}
	return reportTimestamp(out)
}

// reportTimestamp finds the top-level "timestamp" string of a report,
// skipping the values before it without decoding them.
func reportTimestamp(report []byte) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(report))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return "", errors.New("ceph: report: not a JSON object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return "", fmt.Errorf("ceph: report: %w", err)
		}
		key, _ := tok.(string)
		if key == "timestamp" {
			var ts string
			if err := dec.Decode(&ts); err != nil {
				return "", fmt.Errorf("ceph: report: timestamp: %w", err)
			}
			return ts, nil
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return "", fmt.Errorf("ceph: report: %w", err)
		}
	}
	return "", errors.New("ceph: report has no timestamp")
}

// MonTimeSkews returns each monitor's clock skew against the leader in
// seconds, by monitor name, as the leader last measured it (every
// mon_timecheck_interval): "ceph time-sync-status". A cluster of one
// monitor has none.
func (c *Conn) MonTimeSkews(ctx context.Context) (map[string]float64, error) {
	out, err := c.monCommand(ctx, map[string]string{"prefix": "time-sync-status", "format": "json"})
	if err != nil {
		return nil, err
	}
	var st struct {
		Skews map[string]struct {
			Skew float64 `json:"skew"`
		} `json:"time_skew_status"`
	}
	if err := json.Unmarshal(out, &st); err != nil {
		return nil, fmt.Errorf("ceph: time-sync-status: %w", err)
	}
	skews := make(map[string]float64, len(st.Skews))
	for name, s := range st.Skews {
		skews[name] = s.Skew
	}
	return skews, nil
}
