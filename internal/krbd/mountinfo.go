package krbd

import (
	"fmt"
	"strconv"
	"strings"
)

// Mount is one line of /proc/<pid>/mountinfo, the fields this package uses.
type Mount struct {
	Num        DevNum // the mounted device (field 3)
	MountPoint string // field 5, unescaped
}

// ParseMountinfo reads /proc/<pid>/mountinfo. Lines are "id parent
// major:minor root mountpoint options [optional fields] - fstype source
// superoptions"; paths escape blanks, tabs, newlines and backslashes as
// octal (\040). Lines that do not have that shape are skipped: a line the
// kernel wrote is never malformed, and one unreadable line must not hide
// the others.
func ParseMountinfo(data string) []Mount {
	var mounts []Mount
	for _, line := range strings.Split(data, "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		num, err := ParseDevNum(f[2])
		if err != nil {
			continue
		}
		mounts = append(mounts, Mount{Num: num, MountPoint: unescapeOctal(f[4])})
	}
	return mounts
}

// unescapeOctal undoes the kernel's \ooo escapes; other text is kept.
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) && isOctal(s[i+1:i+4]) {
			n, _ := strconv.ParseUint(s[i+1:i+4], 8, 8)
			b.WriteByte(byte(n))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(s string) bool {
	if len(s) != 3 {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '7' {
			return false
		}
	}
	return s[0] <= '3' // at most \377
}

// MountsOf returns the mounts of the given devices.
func (t Tree) MountsOf(nums []DevNum) ([]Mount, error) {
	data, err := readAttr(join(t.Proc, "self", "mountinfo"))
	if err != nil {
		return nil, fmt.Errorf("reading the mount table: %w", err)
	}
	var out []Mount
	for _, m := range ParseMountinfo(data) {
		for _, n := range nums {
			if m.Num == n {
				out = append(out, m)
			}
		}
	}
	return out, nil
}
