package manpages

import "github.com/kvmha/kvmha/internal/manpage"

// What the declarations cannot say. Parameter names used here are checked
// against the declarations when the pages are rendered.

type kv = manpage.KV

var virtualDomainExtras = manpage.OCFExtras{
	Examples: []manpage.Example{{
		Title: "A guest whose disks are RBD images, allowed to live-migrate over TCP. The agent keeps the libvirt " +
			"secret each disk names filled with the key of ceph_user; the depth-20 monitor checks every minute that " +
			"this node's qemu holds each RBD disk.",
		ID: "vm1",
		Params: []kv{
			{Key: "config", Value: "/etc/kvmha/vm1.xml"},
			{Key: "migration_transport", Value: "tcp"},
			{Key: "ceph_user", Value: "libvirt"},
			{Key: "ceph_keyring", Value: "/etc/ceph/ceph.client.libvirt.keyring"},
		},
		Meta: []kv{{Key: "allow-migrate", Value: "true"}},
		Ops: []manpage.Op{
			{Name: "monitor", Interval: "10s", Timeout: "30s"},
			{Name: "monitor", Interval: "60s", Timeout: "30s", Depth: 20},
		},
	}},
	Migration: []manpage.Migration{{
		From: "ocf:heartbeat:VirtualDomain",
		FromParams: []string{"config", "hypervisor", "force_stop", "migration_transport", "migration_user",
			"migration_downtime", "migration_speed", "migration_network_suffix", "migrateuri", "migrate_options",
			"monitor_scripts", "autoset_utilization_cpu", "autoset_utilization_host_memory",
			"autoset_utilization_hv_memory", "unset_utilization_cpu", "unset_utilization_host_memory",
			"unset_utilization_hv_memory", "migrateport", "remoteuri", "save_config_on_stop", "sync_config_on_stop",
			"snapshot", "backingfile", "stateless", "copyindirs", "shutdown_mode", "start_resources"},
		Intro: "ocf:kvmha:VirtualDomain takes every parameter of ocf:heartbeat:VirtualDomain (resource-agents 4.12) " +
			"with the same name, default and meaning, and advertises the same default timeouts (start and stop 90s, " +
			"monitor 30s every 10s, migrate_to 120s, migrate_from 60s). In a resource definition, replacing the " +
			"provider heartbeat with kvmha is enough.",
		Differences: []kv{
			{Key: "backingfile", Value: "Not honoured: local qcow2 overlays are not kvmha's business. validate-all, " +
				"and so start, fails when it is set."},
			{Key: "stateless", Value: "Not honoured: true fails validation."},
			{Key: "copyindirs", Value: "Not honoured: a value fails validation."},
			{Key: "shutdown_mode", Value: "Honoured (acpi, agent, initctl, signal, paravirt, comma-separated). " +
				"heartbeat:VirtualDomain 4.12 reads a misspelt variable and never uses it, so a value configured " +
				"there takes effect now."},
			{Key: "hypervisor", Value: "Local sockets (honouring ?socket=), qemu+tcp and qemu+tls URIs; ssh URIs are refused."},
			{Key: "migrate_options", Value: "Understood: --migrateuri=, --live, --p2p, --tunnelled, --persistent, " +
				"--undefinesource, --unsafe, --compressed, --auto-converge, --postcopy, --abort-on-error, --tls, " +
				"--parallel, --verbose; any other option fails validate-all and migrate_to, naming it. Migrations " +
				"are peer to peer: libvirtd, not the agent, connects to the target."},
			{Key: "monitor_scripts", Value: "Run without a shell."},
			{Key: "Utilization", Value: "The autoset_utilization_* values are written with crm_resource only when " +
				"they differ from the last value written, and the unset_utilization_* ones are deleted once, not at " +
				"every monitor."},
			{Key: "Start", Value: "Before a start the agent asks Ceph which clients hold each RBD image of the " +
				"domain (watchers and exclusive-lock owners). A holder the OSD blocklist does not fence makes the " +
				"start wait up to 40 s for it to go, then fail, naming the image and the holder's address. Fence " +
				"nodes with fence_rbd(8) so that a dead node's hold is blocklisted."},
			{Key: "No virsh", Value: "The agent speaks libvirt's RPC protocol and forks nothing per monitor. When " +
				"libvirtd does not answer, monitor looks for the guest's qemu process, and stop ends that process " +
				"itself shortly before its timeout."},
			{Key: "Packages", Value: "start, stop and the depth-20 monitor need librados2 and librbd1 (the package " +
				"kvmha-ceph depends on them); other actions, the recurring monitor among them, do not load them."},
			{Key: "Storage lost", Value: "A depth-20 monitor that finds the guest's qemu no longer holding its RBD " +
				"image (its session lost the image's watch, and the guest's I/O hangs) fails, and notes it in the " +
				"node's record: the stop that follows kills the qemu at once instead of asking for a graceful shutdown " +
				"the guest cannot finish. After any destroy, stop blocklists the client instances of this node that " +
				"still hold the guest's writable images when nothing here uses them (the killed qemu's lock and " +
				"watch), so the guest starts on another node at once."},
		},
		ID: "vm1",
	}},
	SeeAlso: []string{"ocf_heartbeat_VirtualDomain(7)", "fence_rbd(8)", "ocf_kvmha_rbd(7)", "virsh(1)"},
}

var rbdExtras = manpage.OCFExtras{
	Examples: []manpage.Example{
		{
			Title: "Map image data1 of pool rbd as cephx user kvmha, with the advertised monitors (every 10 s from " +
				"sysfs, every minute also reading the first block).",
			ID: "rbd-data1",
			Params: []kv{
				{Key: "name", Value: "data1"},
				{Key: "pool", Value: "rbd"},
				{Key: "user", Value: "kvmha"},
				{Key: "secret", Value: "/etc/ceph/ceph.client.kvmha.keyring"},
			},
		},
		{
			Title: "The kernel driver only, with a deeper queue, read-only.",
			ID:    "rbd-archive",
			Params: []kv{
				{Key: "name", Value: "archive"},
				{Key: "driver", Value: "krbd"},
				{Key: "map_options", Value: "queue_depth=256"},
				{Key: "read_only", Value: "true"},
			},
			Ops: []manpage.Op{{Name: "monitor", Interval: "10s", Timeout: "20s"}},
		},
	},
	Migration: []manpage.Migration{{
		From:       "ocf:ceph:rbd",
		FromParams: []string{"name", "pool_namespace", "pool", "snap", "cephconf", "mon", "user", "secret"},
		Intro: "ocf:kvmha:rbd takes every parameter of ocf:ceph:rbd (Ceph 16) with the same name and meaning; " +
			"replace the provider ceph with kvmha. Its monitor finds a device that rbd device map (and so " +
			"ceph:rbd) mapped, so a running resource can be switched without unmapping it.",
		Differences: []kv{
			{Key: "driver", Value: "New, default auto: an image with a feature this kernel's rbd driver lacks is " +
				"mapped with rbd-nbd, where ceph:rbd fails. driver=krbd keeps ceph:rbd's behaviour; start then names " +
				"the missing features and the rbd feature disable command that removes them."},
			{Key: "exclusive", Value: "New, default true: start refuses an image another live client holds (after " +
				"waiting up to 40 s for it to go), where ceph:rbd maps it anyway. Set exclusive=false for images " +
				"several nodes map on purpose."},
			{Key: "secret", Value: "A bare key file, as ceph:rbd takes it, or a keyring. The key is never on a command line."},
			{Key: "Stop", Value: "When the device is in use (mounted, held by device-mapper or md, open in a " +
				"process) stop fails and names the user instead of failing in rbd device unmap; force_unmap=true " +
				"unmaps anyway."},
			{Key: "Monitor", Value: "Reads sysfs and procfs only: no rbd process per monitor, and no Ceph session."},
			{Key: "Packages", Value: "start needs librados2 and librbd1 (the package kvmha-ceph depends on them) " +
				"and rbd-nbd for driver nbd, or for auto when the kernel lacks a feature of the image."},
		},
		ID: "rbd-data1",
	}},
	SeeAlso: []string{"rbd(8)", "rbd-nbd(8)", "ocf_kvmha_VirtualDomain(7)"},
}

var o2cbExtras = manpage.OCFExtras{
	Examples: []manpage.Example{{
		Title: "The O2CB stack on every node, its nodes taken from corosync's nodelist; order the OCFS2 " +
			"Filesystem resources after the clone.",
		ID:     "o2cb",
		Params: []kv{{Key: "nodes_from", Value: "corosync"}},
		Clone:  true,
	}},
	SeeAlso: []string{"mkfs.ocfs2(8)", "mount.ocfs2(8)", "ocf_heartbeat_Filesystem(7)"},
}

var hostHeartbeatExtras = manpage.OCFExtras{
	Examples: []manpage.Example{{
		Title: "The heartbeat on every host, on a RADOS pool and a shared directory, fenced through by fence_kvmha(8).",
		ID:    "heartbeat",
		Params: []kv{
			{Key: "backends", Value: "rados://rbd/kvmha file:///srv/ocfs2/kvmha"},
			{Key: "ceph_user", Value: "kvmha"},
			{Key: "ceph_keyring", Value: "/etc/ceph/ceph.client.kvmha.keyring"},
		},
		Clone: true,
	}},
	SeeAlso: []string{"fence_kvmha(8)", "kvmha(8)", "watchdog(8)"},
}

var fenceRBDExtras = manpage.FenceExtras{
	Examples: []manpage.Example{{
		Title: "Fence two nodes at the storage; Pacemaker unfences each node when it joins.",
		ID:    "fence-rbd",
		Params: []kv{
			{Key: "hosts", Value: "node1=10.0.0.1;node2=10.0.0.2"},
			{Key: "ceph_user", Value: "fence"},
			{Key: "ceph_keyring", Value: "/etc/ceph/ceph.client.fence.keyring"},
			{Key: "pcmk_host_list", Value: "node1 node2"},
		},
		Meta: []kv{{Key: "provides", Value: "unfencing"}},
		Ops:  []manpage.Op{{Name: "monitor", Interval: "60s"}},
	}},
	SeeAlso: []string{"fence_scsi(8)", "ocf_kvmha_VirtualDomain(7)", "ocf_kvmha_rbd(7)"},
}

var fenceLibvirtExtras = manpage.FenceExtras{
	Examples: []manpage.Example{{
		Title: "Fence two nodes that are guests of one hypervisor, reached over TLS.",
		ID:    "fence-libvirt",
		Params: []kv{
			{Key: "uri", Value: "qemu+tls://hv1.example.com/system"},
			{Key: "pcmk_host_map", Value: "node1:guest1;node2:guest2"},
		},
		Ops: []manpage.Op{{Name: "monitor", Interval: "60s"}},
	}},
	Sections: []manpage.Section{{
		Title: "Users of fence_virsh",
		Text: "fence_libvirt takes fence_virsh's names for the options it shares (ip or ipaddr, ipport, username " +
			"or login, identity_file, missing_as_off, and the generic ones), so a fence_virsh device that uses only " +
			"those stays valid when its agent name is replaced; pcs refuses the ssh ones it does not have (secure, " +
			"ssh_options, password, ...). It does not use ssh: ip means qemu+tls://ip/system on ipport (default 16514), " +
			"identity_file names the TLS client's PKI folder instead of an ssh key, and username is ignored. Set up " +
			"libvirt's TLS (client certificates) on the hypervisor first.",
	}},
	SeeAlso: []string{"fence_virsh(8)", "virsh(1)"},
}

var fenceKVMHAExtras = manpage.FenceExtras{
	Examples: []manpage.Example{{
		Title: "Fence three hosts through the heartbeat that the clone of ocf:kvmha:HostHeartbeat keeps on the " +
			"same backends.",
		ID: "fence-kvmha",
		Params: []kv{
			{Key: "backends", Value: "rados://rbd/kvmha file:///srv/ocfs2/kvmha"},
			{Key: "ceph_user", Value: "kvmha"},
			{Key: "ceph_keyring", Value: "/etc/ceph/ceph.client.kvmha.keyring"},
			{Key: "pcmk_host_list", Value: "node1 node2 node3"},
		},
		Ops: []manpage.Op{{Name: "monitor", Interval: "60s"}},
	}},
	SeeAlso: []string{"ocf_kvmha_HostHeartbeat(7)", "kvmha(8)", "sbd(8)"},
}

var kvmhaExtras = manpage.CommandExtras{
	Examples: []manpage.CommandExample{{
		Title: "Every host's heartbeat as this host's daemon sees it, for people and for scripts:",
		Lines: []string{"kvmha heartbeat status", "kvmha heartbeat status --output json"},
	}},
	SeeAlso: []string{"ocf_kvmha_HostHeartbeat(7)", "fence_kvmha(8)", "ocf_kvmha_VirtualDomain(7)",
		"ocf_kvmha_rbd(7)", "ocf_kvmha_o2cb(7)", "fence_rbd(8)", "fence_libvirt(8)"},
}
