package krbd

import "golang.org/x/sys/unix"

// rdev returns the device number of the block device path leads to.
func rdev(path string) (DevNum, bool) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFBLK {
		return DevNum{}, false
	}
	return DevNum{unix.Major(uint64(st.Rdev)), unix.Minor(uint64(st.Rdev))}, true
}
