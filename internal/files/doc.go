// Package files reads and writes the small files agents are given or keep: configuration
// named by a parameter, state in HA_RSCTMP, a saved CIB on stdin.
//
// Reads are bounded twice. In size, because a parameter may name /dev/zero or a log file by
// mistake, and an agent that reads it whole grows until the host's OOM killer ends it. In
// time, because a configuration on a hung NFS or OCFS2 mount (or a FIFO nobody writes) blocks
// open and read in the kernel, where no context reaches: the read runs in a goroutine that
// the caller abandons at its deadline. Only regular files are read as files, so a FIFO, a
// directory or a device is an error at once, named as such.
//
// Writes replace a file whole (a temporary file beside it, renamed over it) and reach the
// disk before they are reported done: the file and then its directory are synced, so a
// power loss leaves the old content or the new, never an empty or torn file.
package files
