// Package o2cbconf reads and writes /etc/ocfs2/cluster.conf, the file in which
// ocfs2-tools (o2cb, mkfs.ocfs2, mount.ocfs2, the o2cb init script) keep the
// O2CB cluster layout.
//
// The file is a list of stanzas. A stanza starts with its kind and a colon at
// the start of a line ("cluster:", "node:", "heartbeat:"); its attributes
// follow on indented "key = value" lines; blank lines and lines starting with
// '#' are ignored:
//
//	cluster:
//		name = lab
//		heartbeat_mode = local
//		node_count = 2
//
//	node:
//		cluster = lab
//		number = 1
//		ip_port = 7777
//		ip_address = 192.168.77.1
//		name = node1
//
// The package has two layers. Parse and File.Bytes work on stanzas and keep
// everything, in order, so that a file written by o2cb comes back byte for
// byte; unknown stanzas and attributes survive an edit. File.Cluster and
// File.SetCluster give the typed view of one cluster (its nodes and heartbeat
// regions) with the kernel's limits checked, and replace one cluster while
// leaving the others alone.
package o2cbconf
