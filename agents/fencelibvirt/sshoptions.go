package fencelibvirt

import (
	"errors"
	"fmt"
	"strings"

	"github.com/kvmha/kvmha/internal/agentlog"
	"github.com/kvmha/kvmha/internal/libvirt"
)

// sshOptions is what fence_libvirt takes from ssh_options, which
// fence_virsh appends to its ssh command line.
type sshOptions struct {
	hostKeys         libvirt.HostKeyPolicy
	userKnownHosts   []string // nil: not given
	globalKnownHosts []string
	keys             []string
	network          string   // "tcp4", "tcp6" or ""
	ignored          []string // what was given and is not used, for the note
}

// ssh's command-line flags, without and with an argument (OpenSSH 9).
const (
	sshFlags    = "46AaCfGgKkMNnqsTtVvXxYy"
	sshArgFlags = "BbcDEeFIiJLlmOoPpQRSWw"
)

// parseSSHOptions reads ssh_options as ssh reads its command line. Host key
// checking, known hosts files, keys and the address family are used; a
// jump host is refused (the connection would go elsewhere than meant);
// everything else is listed in ignored. The words after the options are
// the remote command (fence_virsh's default runs a shell with a known
// prompt): ignored too.
func parseSSHOptions(s string) (sshOptions, error) {
	var o sshOptions
	words, err := splitWords(s, false)
	if err != nil {
		return o, err
	}
	ignore := func(what string) {
		for _, w := range o.ignored {
			if w == what {
				return
			}
		}
		o.ignored = append(o.ignored, what)
	}
	for i := 0; i < len(words); i++ {
		w := words[i]
		if len(w) < 2 || w[0] != '-' {
			ignore("the remote command (no shell is run)")
			break
		}
		if w == "--" {
			if i+1 < len(words) {
				ignore("the remote command (no shell is run)")
			}
			break
		}
		flags := w[1:]
		for j := 0; j < len(flags); j++ {
			c := flags[j]
			if strings.IndexByte(sshFlags, c) >= 0 {
				switch c {
				case '4':
					o.network = "tcp4"
				case '6':
					o.network = "tcp6"
				default:
					ignore("-" + string(c))
				}
				continue
			}
			if strings.IndexByte(sshArgFlags, c) < 0 {
				return o, fmt.Errorf("-%s is not an ssh option", agentlog.Clip(string(c)))
			}
			arg := flags[j+1:]
			if arg == "" {
				if i+1 >= len(words) {
					return o, fmt.Errorf("-%c needs a value", c)
				}
				i++
				arg = words[i]
			}
			if err := o.flag(c, arg, ignore); err != nil {
				return o, err
			}
			break
		}
	}
	return o, nil
}

// flag applies one flag with its argument.
func (o *sshOptions) flag(c byte, arg string, ignore func(string)) error {
	switch c {
	case 'o':
		return o.option(arg, ignore)
	case 'i':
		o.keys = append(o.keys, arg)
	case 'J':
		return errors.New("-J (a jump host) is not supported: fence_libvirt connects to ip itself")
	case 'F':
		ignore("-F (no ssh_config is read)")
	case 'p':
		ignore("-p (use ipport)")
	case 'l':
		ignore("-l (use username)")
	default:
		ignore("-" + string(c))
	}
	return nil
}

// option applies one -o Key=Value (or "Key Value").
func (o *sshOptions) option(arg string, ignore func(string)) error {
	key, value, ok := strings.Cut(strings.TrimSpace(arg), "=")
	if !ok {
		key, value, ok = strings.Cut(strings.TrimSpace(arg), " ")
	}
	key, value = strings.TrimSpace(key), strings.Trim(strings.TrimSpace(value), `"`)
	if !ok || key == "" {
		return fmt.Errorf("-o %q is not Key=Value", agentlog.Clip(arg))
	}
	switch strings.ToLower(key) {
	case "stricthostkeychecking":
		switch strings.ToLower(value) {
		case "yes", "ask":
			o.hostKeys = libvirt.HostKeyStrict
		case "accept-new":
			o.hostKeys = libvirt.HostKeyAcceptNew
		case "no", "off":
			o.hostKeys = libvirt.HostKeyAcceptAny
		default:
			return fmt.Errorf("StrictHostKeyChecking %q: use yes, ask, accept-new or no", agentlog.Clip(value))
		}
	case "userknownhostsfile":
		o.userKnownHosts = append([]string{}, strings.Fields(value)...)
	case "globalknownhostsfile":
		o.globalKnownHosts = append([]string{}, strings.Fields(value)...)
	case "identityfile":
		if !strings.EqualFold(value, "none") {
			o.keys = append(o.keys, value)
		}
	case "addressfamily":
		switch strings.ToLower(value) {
		case "inet":
			o.network = "tcp4"
		case "inet6":
			o.network = "tcp6"
		case "any":
			o.network = ""
		default:
			return fmt.Errorf("AddressFamily %q: use any, inet or inet6", agentlog.Clip(value))
		}
	case "proxyjump", "proxycommand":
		if !strings.EqualFold(value, "none") {
			return fmt.Errorf("%s is not supported: fence_libvirt connects to ip itself", key)
		}
	case "port":
		ignore("-o Port (use ipport)")
	case "user":
		ignore("-o User (use username)")
	case "connecttimeout":
		ignore("-o ConnectTimeout (use login_timeout)")
	default:
		ignore("-o " + agentlog.Clip(key))
	}
	return nil
}
