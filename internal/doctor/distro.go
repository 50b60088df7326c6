package doctor

import (
	"strings"
)

// distro is the host's distribution family, from /etc/os-release: fixes
// name packages, and package names differ.
type distro int

const (
	distroUnknown distro = iota
	distroDebian         // Debian and its derivatives (apt)
	distroUbuntu         // Ubuntu (apt; its kernels split modules into linux-modules-extra)
	distroRedHat         // RHEL, Rocky, Alma, CentOS, Fedora (dnf)
	distroSUSE           // SLES, openSUSE (zypper)
)

// distribution reads /etc/os-release (or /usr/lib/os-release): ID and ID_LIKE.
func (r Root) distribution() distro {
	data, err := r.read("/etc/os-release")
	if err != nil {
		if data, err = r.read("/usr/lib/os-release"); err != nil {
			return distroUnknown
		}
	}
	return parseOSRelease(string(data))
}

// parseOSRelease classifies an os-release file by its ID and ID_LIKE.
func parseOSRelease(text string) distro {
	var ids []string
	for _, line := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok || (k != "ID" && k != "ID_LIKE") {
			continue
		}
		v = strings.Trim(v, `"'`)
		ids = append(ids, strings.Fields(strings.ToLower(v))...)
	}
	for _, id := range ids {
		switch id {
		case "ubuntu":
			return distroUbuntu
		case "debian":
			return distroDebian
		case "rhel", "fedora", "centos", "rocky", "almalinux":
			return distroRedHat
		case "suse", "sles", "opensuse", "opensuse-leap", "opensuse-tumbleweed":
			return distroSUSE
		}
	}
	return distroUnknown
}

// install says how to install a package, given its name per family ("" when
// that family has none); unknown families get every known name.
func (d distro) install(debian, redhat, suse string) string {
	switch {
	case (d == distroDebian || d == distroUbuntu) && debian != "":
		return "apt install " + debian
	case d == distroRedHat && redhat != "":
		return "dnf install " + redhat
	case d == distroSUSE && suse != "":
		return "zypper install " + suse
	}
	var alts []string
	for _, a := range []struct{ tool, pkg string }{{"apt", debian}, {"dnf", redhat}, {"zypper", suse}} {
		if a.pkg != "" {
			alts = append(alts, a.tool+" install "+a.pkg)
		}
	}
	return "install the package (" + strings.Join(alts, " / ") + ")"
}
