package o2cb

import (
	"fmt"
	"os"
	"strings"
)

// mount is one line of /proc/mounts.
type mount struct {
	Source, Target, FSType string
}

// parseMounts reads /proc/mounts: "source target fstype options dump pass",
// with space, tab, newline and backslash in paths written as octal escapes.
// Malformed lines are skipped rather than fatal: the kernel writes this
// file, and one odd line must not hide the OCFS2 mount on the next.
func parseMounts(data string) []mount {
	var mounts []mount
	for _, line := range strings.Split(data, "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		mounts = append(mounts, mount{Source: unescapeMount(f[0]), Target: unescapeMount(f[1]), FSType: unescapeMount(f[2])})
	}
	return mounts
}

// unescapeMount undoes the kernel's \ooo escapes; anything else is kept.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			v := (s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0')
			b.WriteByte(v)
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// readMounts reads the mount table of the agent's mount namespace, which is
// the host's: Pacemaker runs agents there.
func (s *deps) readMounts() ([]mount, error) {
	data, err := os.ReadFile(s.proc("mounts"))
	if err != nil {
		return nil, fmt.Errorf("cannot read the mount table: %w", err)
	}
	return parseMounts(string(data)), nil
}

// mountedAt returns the file system type mounted at target ("" if none). The
// last line wins, as a later mount hides an earlier one.
func mountedAt(mounts []mount, target string) string {
	fstype := ""
	for _, m := range mounts {
		if m.Target == target {
			fstype = m.FSType
		}
	}
	return fstype
}

// ocfs2Mounts lists the mount points of OCFS2 file systems.
func ocfs2Mounts(mounts []mount) []string {
	var at []string
	for _, m := range mounts {
		if m.FSType == "ocfs2" {
			at = append(at, m.Target)
		}
	}
	return at
}
