package doctor

import (
	"net/netip"
	"testing"
)

// /proc/net/tcp lines: a listener on 0.0.0.0:7777 (inode 4242), one on
// 127.0.0.1:22, and an established connection.
const procNetTCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1E61 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0
   1: 0100007F:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 17 1 0000000000000000 100 0 0 10 0
   2: 0100007F:0016 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000     0        0 18 1 0000000000000000 100 0 0 10 0
`

// and /proc/net/tcp6: [::1]:7777 listening.
const procNetTCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:1E61 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 99 1 0000000000000000 100 0 0 10 0
`

func TestParseProcNetTCP(t *testing.T) {
	ls := parseProcNetTCP(procNetTCP)
	if len(ls) != 2 || ls[0].addr != netip.MustParseAddrPort("0.0.0.0:7777") || ls[0].inode != 4242 ||
		ls[1].addr != netip.MustParseAddrPort("127.0.0.1:22") {
		t.Fatalf("%+v", ls)
	}
	ls = parseProcNetTCP(procNetTCP6)
	if len(ls) != 1 || ls[0].addr != netip.MustParseAddrPort("[::1]:7777") {
		t.Fatalf("%+v", ls)
	}
}

func TestO2CBPort(t *testing.T) {
	// Free: only the ssh listener.
	sshOnly := "header\n   1: 0100007F:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 17 1 0 100 0 0 10 0\n"
	root := kernelTree(t, map[string]string{"/proc/net/tcp": sshOnly})
	expect(t, runNamed(t, testDoctor(root, nil, nil, nil), "o2cb-port")["o2cb-port"], Pass, "TCP 7777 (the default) is free", "")

	// Taken by a process.
	root = kernelTree(t, map[string]string{
		"/proc/net/tcp":    procNetTCP,
		"/proc/4711/comm":  "nc\n",
		"/proc/4711/fd/3":  "->socket:[4242]",
		"/proc/1/fd/0":     "->/dev/null",
		"/proc/self":       "->4711",
		"/proc/net/tcp6":   "",
		"/proc/4712/fd/10": "->socket:[17]",
	})
	expect(t, runNamed(t, testDoctor(root, nil, nil, nil), "o2cb-port")["o2cb-port"], Fail,
		"TCP 7777 (the default) is taken: nc listens on 0.0.0.0:7777", "stop nc (pid 4711)")

	// Held by o2net: the local node of a cluster in configfs has the port
	// cluster.conf gives this host.
	conf := "cluster:\n\tname = lab\n\tnode_count = 1\n\theartbeat_mode = local\n\nnode:\n\tcluster = lab\n\tnumber = 1\n\tip_port = 7777\n\tip_address = 192.168.77.1\n\tname = node1\n"
	root = kernelTree(t, map[string]string{
		"/proc/net/tcp":           procNetTCP,
		"/etc/ocfs2/cluster.conf": conf,
		"/sys/kernel/config/cluster/lab/node/node1/local":     "1\n",
		"/sys/kernel/config/cluster/lab/node/node1/ipv4_port": "7777\n",
	})
	expect(t, runNamed(t, testDoctor(root, nil, nil, nil), "o2cb-port")["o2cb-port"], Pass,
		"TCP 7777 (node node1 of cluster lab in /etc/ocfs2/cluster.conf) is held by o2net (node node1 of O2CB cluster lab)", "")

	// A kernel socket holds the port, but configfs has no local node on it.
	root = kernelTree(t, map[string]string{
		"/proc/net/tcp6":          procNetTCP6,
		"/etc/ocfs2/cluster.conf": conf,
	})
	expect(t, runNamed(t, testDoctor(root, nil, nil, nil), "o2cb-port")["o2cb-port"], Warn,
		"held by a socket of no process", "another ip_port")
}
