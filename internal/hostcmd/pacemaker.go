package hostcmd

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"

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
	Attributes []struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
		Host  string `xml:"host,attr"`
	} `xml:"attribute"`
	Status struct {
		Code    int      `xml:"code,attr"`
		Message string   `xml:"message,attr"`
		Errors  []string `xml:"errors>error"`
	} `xml:"status"`
}

// errNoAttribute: attrd_updater knows no such attribute (status 105 in Pacemaker 2.1's
// XML, "No such object", or its older "does not exist").
var errNoAttribute = errors.New("no such node attribute")

// IsNoAttribute reports whether err says the attribute is not set.
func IsNoAttribute(err error) bool { return errors.Is(err, errNoAttribute) }

// NodeAttribute reads a transient node attribute of node ("" for this node) from the
// attribute manager (attrd_updater -Q, XML).
func NodeAttribute(ctx context.Context, name, node string) (string, error) {
	args := []string{"-Q", "-n", name, "--output-as=xml"}
	if node != "" {
		args = append(args, "-N", node)
	}
	res, err := Run(ctx, "attrd_updater", args...)
	if err != nil {
		return "", err
	}
	var r pacemakerResult
	if err := xml.Unmarshal(res.Stdout, &r); err != nil {
		return "", fmt.Errorf("attrd_updater -Q -n %s: unreadable output: %v", name, err)
	}
	if r.Status.Code != 0 {
		msg := r.Status.Message
		if len(r.Status.Errors) > 0 {
			msg = r.Status.Errors[0]
		}
		if strings.Contains(msg, "does not exist") || strings.Contains(msg, "No such") {
			return "", fmt.Errorf("%s: %w", name, errNoAttribute)
		}
		return "", fmt.Errorf("attrd_updater -Q -n %s: %s", name, agentlog.Clip(msg))
	}
	for _, a := range r.Attributes {
		if a.Name == name && (node == "" || a.Host == node) {
			return a.Value, nil
		}
	}
	return "", fmt.Errorf("%s: %w", name, errNoAttribute)
}

// SetNodeAttribute sets a transient attribute of this node (attrd_updater -U).
func SetNodeAttribute(ctx context.Context, name, value string) error {
	_, err := Output(ctx, "attrd_updater", "-n", name, "-U", value)
	return err
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

// CIB is the cluster's configuration, or a part of it (scope: "" for all, "configuration",
// "status", ...), as cibadmin --query prints it.
func CIB(ctx context.Context, scope string) ([]byte, error) {
	args := []string{"--query"}
	if scope != "" {
		args = append(args, "--scope", scope)
	}
	return Output(ctx, "cibadmin", args...)
}

// ClusterStatus is crm_mon's one-shot XML (nodes, resources, failures).
func ClusterStatus(ctx context.Context) ([]byte, error) {
	return Output(ctx, "crm_mon", "-1", "--output-as=xml")
}

// LoadModules loads kernel modules (modprobe -a), naming modprobe's complaint on failure.
func LoadModules(ctx context.Context, names ...string) error {
	_, err := Output(ctx, "modprobe", append([]string{"-a"}, names...)...)
	return err
}
