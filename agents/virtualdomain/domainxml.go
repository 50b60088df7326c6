package virtualdomain

import (
	"errors"
	"fmt"
	"strings"

	"github.com/beevik/etree"
)

// domainConfig is what the agent needs from a domain XML.
type domainConfig struct {
	Name     string
	UUID     string // "" when the XML has none (libvirt then makes one up)
	Type     string // <domain type=…>: kvm, qemu, xen, lxc, …
	Emulator string
	// RBDDisks are the disks whose source is an RBD image.
	RBDDisks []rbdDisk
	// VolumeDisks refer to a libvirt storage pool volume; the pool's XML
	// says whether it is an RBD image.
	VolumeDisks []volumeDisk
	// StoragePools and Networks are the libvirt pools and virtual networks
	// the domain uses, for start_resources.
	StoragePools []string
	Networks     []string
	// GuestAgent: the domain has a qemu guest agent channel.
	GuestAgent bool
}

// rbdDisk is one <disk type='network'><source protocol='rbd'>.
type rbdDisk struct {
	Target    string // guest device, e.g. vda
	Pool      string
	Namespace string
	Image     string
	Snapshot  string
	Hosts     []monHost
	// AuthUser is the cephx id (<auth username=…>), Secret the libvirt
	// secret holding its key.
	AuthUser string
	Secret   secretRef
	// ReadOnly and Shareable disks may be open on several hosts by design.
	ReadOnly  bool
	Shareable bool
}

// monHost is one <host name=… port=…> of a network disk.
type monHost struct {
	Name string
	Port string
}

// secretRef names a libvirt secret by UUID or by usage.
type secretRef struct {
	UUID  string
	Usage string
}

func (s secretRef) String() string {
	if s.UUID != "" {
		return "uuid " + s.UUID
	}
	return "usage " + s.Usage
}

// volumeDisk is one <disk type='volume'><source pool=… volume=…>.
type volumeDisk struct {
	Target string
	Pool   string
	Volume string
}

// Spec is the image as "pool/[namespace/]image".
func (d rbdDisk) Spec() string {
	if d.Namespace != "" {
		return d.Pool + "/" + d.Namespace + "/" + d.Image
	}
	return d.Pool + "/" + d.Image
}

// errNoName is returned for a domain XML without a usable <name>.
var errNoName = errors.New("the domain XML has no <name>")

// parseDomainXML reads a libvirt domain XML. It fails only for input that is
// not a domain at all; disks it cannot interpret are skipped, because
// libvirt itself will reject them on start with a better message.
func parseDomainXML(data []byte) (*domainConfig, error) {
	doc := etree.NewDocument()
	doc.ReadSettings.Permissive = false
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, fmt.Errorf("the domain XML does not parse: %w", err)
	}
	root := doc.Root()
	if root == nil || root.Tag != "domain" || root.Space != "" {
		return nil, errors.New("the XML's root element is not <domain>")
	}
	cfg := &domainConfig{
		Name:     childText(root, "name"),
		UUID:     childText(root, "uuid"),
		Type:     root.SelectAttrValue("type", ""),
		Emulator: childText(root.SelectElement("devices"), "emulator"),
	}
	if cfg.Name == "" {
		return nil, errNoName
	}
	devices := root.SelectElement("devices")
	if devices == nil {
		return cfg, nil
	}
	pools, nets := map[string]bool{}, map[string]bool{}
	for _, disk := range devices.SelectElements("disk") {
		source := disk.SelectElement("source")
		if source == nil {
			continue
		}
		if p := source.SelectAttrValue("pool", ""); p != "" && !pools[p] {
			pools[p] = true
			cfg.StoragePools = append(cfg.StoragePools, p)
		}
		target := ""
		if t := disk.SelectElement("target"); t != nil {
			target = t.SelectAttrValue("dev", "")
		}
		switch disk.SelectAttrValue("type", "") {
		case "network":
			if d, ok := parseRBDSource(source); ok {
				d.Target = target
				d.ReadOnly = disk.SelectElement("readonly") != nil
				d.Shareable = disk.SelectElement("shareable") != nil
				d.AuthUser, d.Secret = parseAuth(disk, source)
				cfg.RBDDisks = append(cfg.RBDDisks, d)
			}
		case "volume":
			pool, vol := source.SelectAttrValue("pool", ""), source.SelectAttrValue("volume", "")
			if pool != "" && vol != "" {
				cfg.VolumeDisks = append(cfg.VolumeDisks, volumeDisk{Target: target, Pool: pool, Volume: vol})
			}
		}
	}
	for _, iface := range devices.SelectElements("interface") {
		if iface.SelectAttrValue("type", "") != "network" {
			continue
		}
		if s := iface.SelectElement("source"); s != nil {
			if n := s.SelectAttrValue("network", ""); n != "" && !nets[n] {
				nets[n] = true
				cfg.Networks = append(cfg.Networks, n)
			}
		}
	}
	for _, ch := range devices.SelectElements("channel") {
		if t := ch.SelectElement("target"); t != nil && t.SelectAttrValue("name", "") == "org.qemu.guest_agent.0" {
			cfg.GuestAgent = true
		}
	}
	return cfg, nil
}

// parseRBDSource interprets <source protocol='rbd' name='pool/[ns/]image[@snap]'>
// and its <host> and <snapshot> children.
func parseRBDSource(source *etree.Element) (rbdDisk, bool) {
	if source.SelectAttrValue("protocol", "") != "rbd" {
		return rbdDisk{}, false
	}
	var d rbdDisk
	name := strings.TrimSpace(source.SelectAttrValue("name", ""))
	name, d.Snapshot, _ = strings.Cut(name, "@")
	parts := strings.Split(name, "/")
	switch len(parts) {
	case 2:
		d.Pool, d.Image = parts[0], parts[1]
	case 3:
		d.Pool, d.Namespace, d.Image = parts[0], parts[1], parts[2]
	default:
		return rbdDisk{}, false
	}
	if d.Pool == "" || d.Image == "" || (len(parts) == 3 && d.Namespace == "") {
		return rbdDisk{}, false
	}
	if snap := source.SelectElement("snapshot"); snap != nil && d.Snapshot == "" {
		d.Snapshot = snap.SelectAttrValue("name", "")
	}
	for _, h := range source.SelectElements("host") {
		if n := strings.TrimSpace(h.SelectAttrValue("name", "")); n != "" {
			d.Hosts = append(d.Hosts, monHost{Name: n, Port: strings.TrimSpace(h.SelectAttrValue("port", ""))})
		}
	}
	return d, true
}

// parseAuth reads <auth username=…><secret type='ceph' uuid=…|usage=…/>,
// which libvirt accepts under <disk> (older form) or under <source>.
func parseAuth(disk, source *etree.Element) (string, secretRef) {
	auth := source.SelectElement("auth")
	if auth == nil {
		auth = disk.SelectElement("auth")
	}
	if auth == nil {
		return "", secretRef{}
	}
	var ref secretRef
	if s := auth.SelectElement("secret"); s != nil {
		ref = secretRef{UUID: strings.TrimSpace(s.SelectAttrValue("uuid", "")),
			Usage: strings.TrimSpace(s.SelectAttrValue("usage", ""))}
	}
	return strings.TrimSpace(auth.SelectAttrValue("username", "")), ref
}

// childText is the trimmed text of parent's first child named tag.
func childText(parent *etree.Element, tag string) string {
	if parent == nil {
		return ""
	}
	if e := parent.SelectElement(tag); e != nil {
		return strings.TrimSpace(e.Text())
	}
	return ""
}

// parseRBDPoolXML reads a libvirt storage pool XML. For a pool of type rbd
// it returns a disk template (pool, monitors, auth) whose Image the caller
// fills in; for other pool types nil.
func parseRBDPoolXML(data []byte) (*rbdDisk, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, fmt.Errorf("the pool XML does not parse: %w", err)
	}
	root := doc.Root()
	if root == nil || root.Tag != "pool" {
		return nil, errors.New("the XML's root element is not <pool>")
	}
	if root.SelectAttrValue("type", "") != "rbd" {
		return nil, nil
	}
	source := root.SelectElement("source")
	if source == nil {
		return nil, errors.New("rbd pool without <source>")
	}
	d := &rbdDisk{Pool: childText(source, "name")}
	if d.Pool == "" {
		return nil, errors.New("rbd pool without a Ceph pool <name>")
	}
	for _, h := range source.SelectElements("host") {
		if n := strings.TrimSpace(h.SelectAttrValue("name", "")); n != "" {
			d.Hosts = append(d.Hosts, monHost{Name: n, Port: strings.TrimSpace(h.SelectAttrValue("port", ""))})
		}
	}
	d.AuthUser, d.Secret = parseAuth(source, source)
	return d, nil
}
