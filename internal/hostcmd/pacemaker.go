package hostcmd

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kvmha/kvmha/internal/agentlog"
)

// NodeName is Pacemaker's name for this node (crm_node -n).
func NodeName(ctx context.Context) (string, error) {
	out, err := Output(ctx, "crm_node", "-n")
	if err != nil {
		return "", err
	}
	name := strings.TrimSpace(string(out))
	if name == "" || strings.ContainsAny(name, " \t\n") {
		return "", fmt.Errorf("crm_node -n printed %q, not a node name", agentlog.Clip(name))
	}
	return name, nil
}

// HasQuorum reports whether this node's partition has quorum (crm_node -q prints 1 or 0;
// Pacemaker 2.1's crm_node has no XML output).
func HasQuorum(ctx context.Context) (bool, error) {
	out, err := Output(ctx, "crm_node", "-q")
	switch q := strings.TrimSpace(string(out)); {
	case q == "1":
		return true, nil
	case q == "0":
		return false, nil
	case err != nil:
		return false, err
	default:
		return false, fmt.Errorf("crm_node -q printed %q", agentlog.Clip(q))
	}
}

// pacemakerResult is the envelope of Pacemaker's --output-as=xml.
type pacemakerResult struct {
	// Attributes are attrd_updater's answer.
	Attributes []struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
		Host  string `xml:"host,attr"`
	} `xml:"attribute"`
	// Items are crm_resource's (an <item name="cpu">2</item> each).
	Items []struct {
		Name  string `xml:"name,attr"`
		Value string `xml:",chardata"`
	} `xml:"list>item"`
	Status struct {
		Code    int      `xml:"code,attr"`
		Message string   `xml:"message,attr"`
		Errors  []string `xml:"errors>error"`
	} `xml:"status"`
}

// query runs a Pacemaker tool with --output-as=xml and reads its answer; what names the
// query in errors.
func query(ctx context.Context, what, tool string, args ...string) (*pacemakerResult, error) {
	res, err := Run(ctx, tool, append(args, "--output-as=xml")...)
	if err != nil {
		return nil, err
	}
	r := &pacemakerResult{}
	return r, r.parse(what, res.Stdout)
}

// value is the answer's value of the attribute name (of host, when not ""), or
// errNoAttribute.
func (r *pacemakerResult) value(name, host string) (string, error) {
	for _, a := range r.Attributes {
		if a.Name == name && (host == "" || a.Host == host) {
			return a.Value, nil
		}
	}
	for _, it := range r.Items {
		if it.Name == name && host == "" {
			return it.Value, nil
		}
	}
	return "", fmt.Errorf("%s: %w", name, errNoAttribute)
}

// parse reads a tool's XML answer; a status other than 0 is an error naming the tool's
// first error message.
func (r *pacemakerResult) parse(what string, out []byte) error {
	if err := xml.Unmarshal(out, r); err != nil {
		return fmt.Errorf("%s: unreadable output: %v", what, err)
	}
	if r.Status.Code != 0 {
		msg := r.Status.Message
		if len(r.Status.Errors) > 0 {
			msg = r.Status.Errors[0]
		}
		if strings.Contains(msg, "does not exist") || strings.Contains(msg, "No such") {
			return fmt.Errorf("%s: %w", what, errNoAttribute)
		}
		return fmt.Errorf("%s: %s", what, agentlog.Line(msg))
	}
	return nil
}

// errNoAttribute: attrd_updater or crm_resource knows no such attribute (attrd_updater's
// "does not exist" or "No such object"; crm_resource answers without it).
var errNoAttribute = errors.New("no such attribute")

// IsNoAttribute reports whether err says the attribute is not set.
func IsNoAttribute(err error) bool { return errors.Is(err, errNoAttribute) }

// NodeAttribute reads a transient node attribute of node ("" for this node) from the
// attribute manager (attrd_updater -Q, XML).
func NodeAttribute(ctx context.Context, name, node string) (string, error) {
	args := []string{"-Q", "-n", name}
	if node != "" {
		args = append(args, "-N", node)
	}
	r, err := query(ctx, "attrd_updater -Q -n "+name, "attrd_updater", args...)
	if err != nil {
		return "", err
	}
	return r.value(name, node)
}

// SetNodeAttribute sets a transient attribute of this node (attrd_updater -U).
func SetNodeAttribute(ctx context.Context, name, value string) error {
	_, err := Output(ctx, "attrd_updater", "-n", name, "-U", value)
	return err
}

// SetNodeAttributeDampened sets a transient attribute of this node with attrd's
// dampening: the attribute manager writes it to the CIB only once no node changed it for
// delay, so changes that many nodes make at nearly the same time (a storage outage every
// host sees) reach the scheduler together. It is --update-both (-B), value and delay:
// Pacemaker 2.1.5's attrd ignores -d beside a plain -U, even for a new attribute, and
// writes at once ("with no write delay" in its log; found by the fault campaign, where a
// host's storage=0 reached the scheduler alone and moved its guests into an OSD restart).
func SetNodeAttributeDampened(ctx context.Context, name, value string, delay time.Duration) error {
	secs := max(1, int((delay+time.Second-1)/time.Second))
	_, err := Output(ctx, "attrd_updater", "-n", name, "-B", value, "-d", fmt.Sprintf("%ds", secs))
	return err
}

// Utilization reads a utilization attribute of a resource (crm_resource, XML).
func Utilization(ctx context.Context, resource, name string) (string, error) {
	r, err := query(ctx, "crm_resource --get-parameter "+name, "crm_resource", "--resource", resource, "--utilization", "--get-parameter", name)
	if err != nil {
		return "", err
	}
	return r.value(name, "")
}

// SetUtilization sets a utilization attribute of a resource (crm_resource).
func SetUtilization(ctx context.Context, resource, name, value string) error {
	_, err := Output(ctx, "crm_resource", "--resource", resource, "--utilization", "--set-parameter", name, "--parameter-value", value)
	return err
}

// DeleteUtilization removes a utilization attribute of a resource (crm_resource).
func DeleteUtilization(ctx context.Context, resource, name string) error {
	_, err := Output(ctx, "crm_resource", "--resource", resource, "--utilization", "--delete-parameter", name)
	return err
}

// MaxCIB bounds a CIB and crm_mon's XML. A CIB of a few hundred resources is well under
// a megabyte.
const MaxCIB = 64 << 20

// CIB is the cluster's configuration, or a part of it (scope: "" for all, "configuration",
// "status", ...), as cibadmin --query prints it. The caller's CIB_* variables choose the CIB.
func CIB(ctx context.Context, scope string) ([]byte, error) {
	args := []string{"--query"}
	if scope != "" {
		args = append(args, "--scope", scope)
	}
	return Cmd{Name: "cibadmin", Args: args, MaxOutput: MaxCIB, passCIB: true}.Output(ctx)
}

// ClusterStatus is crm_mon's one-shot XML (nodes, resources, failures) of the CIB the
// caller's CIB_* variables choose.
func ClusterStatus(ctx context.Context) ([]byte, error) {
	return Cmd{Name: "crm_mon", Args: []string{"--one-shot", "--output-as=xml"}, MaxOutput: MaxCIB, passCIB: true}.Output(ctx)
}

// LoadModules loads kernel modules (modprobe -a), naming modprobe's complaint on failure.
func LoadModules(ctx context.Context, names ...string) error {
	_, err := Output(ctx, "modprobe", append([]string{"-a"}, names...)...)
	return err
}
