package ceph

import "context"

// The monitors' config-key store holds small values that need no OSD: a
// client whose address is blocklisted can still read and write it, and it
// works while pools are unavailable.

// ConfigKeyGet returns the value of key; a missing key gives an error that
// IsNotFound recognises.
func (c *Conn) ConfigKeyGet(ctx context.Context, key string) ([]byte, error) {
	return c.monCommand(ctx, map[string]string{"prefix": "config-key get", "key": key})
}

// ConfigKeySet stores value under key (sent as the command's input, so it
// may hold any bytes).
func (c *Conn) ConfigKeySet(ctx context.Context, key string, value []byte) error {
	_, err := c.monCommandInput(ctx, map[string]string{"prefix": "config-key set", "key": key}, value)
	return err
}

// ConfigKeyRemove deletes key; a missing key is no error.
func (c *Conn) ConfigKeyRemove(ctx context.Context, key string) error {
	_, err := c.monCommand(ctx, map[string]string{"prefix": "config-key rm", "key": key})
	if IsNotFound(err) {
		return nil
	}
	return err
}
