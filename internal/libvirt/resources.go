package libvirt

import "context"

// StoragePoolXML returns the XML of the named storage pool.
func (c *Conn) StoragePoolXML(ctx context.Context, name string) (string, error) {
	return call(ctx, c, "XML of storage pool "+name, func() (string, error) {
		p, err := c.rpc.StoragePoolLookupByName(name)
		if err != nil {
			return "", err
		}
		return c.rpc.StoragePoolGetXMLDesc(p, 0)
	})
}

// EnsureStoragePoolActive starts the named pool when it is inactive and
// refreshes it when it already runs (what VirtualDomain's start_resources
// does before a start or a migration).
func (c *Conn) EnsureStoragePoolActive(ctx context.Context, name string) error {
	return c.do(ctx, "start storage pool "+name, func() error {
		p, err := c.rpc.StoragePoolLookupByName(name)
		if err != nil {
			return err
		}
		active, err := c.rpc.StoragePoolIsActive(p)
		if err != nil {
			return err
		}
		if active == 1 {
			return c.rpc.StoragePoolRefresh(p, 0)
		}
		return c.rpc.StoragePoolCreate(p, 0)
	})
}

// EnsureNetworkActive starts the named virtual network when it is inactive.
func (c *Conn) EnsureNetworkActive(ctx context.Context, name string) error {
	return c.do(ctx, "start network "+name, func() error {
		n, err := c.rpc.NetworkLookupByName(name)
		if err != nil {
			return err
		}
		active, err := c.rpc.NetworkIsActive(n)
		if err != nil || active == 1 {
			return err
		}
		return c.rpc.NetworkCreate(n)
	})
}
