#!/bin/bash
# vm.sh: the kernel VM -- Debian 12's stock kernel in qemu (TCG) for the tests that need kernel
# pieces this host lacks (rbd, nbd, configfs, ocfs2/o2cb, softdog).
#
#   vm.sh build
#       Fetch the kernel linux-image-amd64 depends on (apt-get download + dpkg-deb -x, never
#       installed), build the initramfs and the root image (debootstrap minbase). Cached under
#       $LAB_CACHE/vm, keyed by kernel version, package lists and the guest init scripts.
#   vm.sh run [--mem MiB] [--share DIR] [--mount DIR]... [--disk FILE]... [--shared-disk FILE]...
#             [--name N] -- COMMAND...
#       Boot one VM, run COMMAND in it as root with cwd = the share, stream its stdout/stderr
#       here, exit with its exit code (125: the VM failed -- no exit code, panic or timeout).
#   vm.sh pair [--mem MiB] [--share DIR] [--mount DIR]... [--disk SHARED.img]... [--name N]
#             -- COMMAND...
#       Two VMs node1/node2 (192.168.77.1/2 on eth1, a qemu UDP socket link on 127.0.0.1)
#       sharing the disks (share-rw=on, cache=none; a fresh 1 GiB one if none is given), each
#       running COMMAND with VM_NAME/VM_IP/VM_PEER/VM_PEER_IP set. Output lines are prefixed
#       "[nodeN] "; exit code is the worst (highest) of the two. A VM whose command touched
#       $VM_XCHG/<vm>.reboot and that then ends without an exit code (sysrq b, a watchdog: a
#       host's death) is booted again -- fresh root, same disks and addresses, the same COMMAND
#       -- instead of ending; each such boot takes the request away, and $VM_XCHG/<vm>.boot
#       holds the boot's number (1, 2, ...). Its exit code is its last boot's.
#   vm.sh smoke ocfs2|krbd|nbd|all
#       The lab's own proofs: test/lab/vm/{ocfs2,krbd,nbd}-smoke.sh (krbd/nbd need a Ceph:
#       CEPH_CONF/CEPH_KEYRING/CEPH_USER/CEPH_POOL, else `test/lab/ceph.sh env`).
#   vm.sh down      stop every VM still running from $LAB_STATE/vm (after a killed vm.sh)
#   vm.sh info      print the current build as KEY=value lines (builds first if needed)
#   vm.sh clean     delete every cached build but the current one
#
# Inside the VM: the share (default: the repo root) is mounted read-write at its own absolute
# path (at /mnt/host when that would hide a system directory; $VM_SHARE says where), each
# --mount DIR likewise (/mnt/hostN otherwise); extra disks are /dev/vdb, /dev/vdc... in order,
# also /dev/disk/by-id/virtio-diskN; $VM_XCHG is a read-write host folder common to both VMs of
# a pair, where <vm>.exit (holding the exit code) appears once VM <vm> has ended. The host's
# 127.0.0.1 is 10.0.2.2, and 127.0.0.1:$LAB_VM_CEPH_PORTS is redirected there (nftables,
# route_localnet), so a Ceph bound to the host's loopback works from the VM.
#
# Environment: LAB_VM_TIMEOUT=600 (s, per VM), LAB_VM_CEPH_PORTS=13300-13399 ("" = no redirect;
# "A-B,C" lists; `smoke` derives it from the mon port when unset), LAB_VM_TB_SIZE=32 (MiB of
# TCG code cache, bounds qemu's RSS), LAB_VM_LINK_PORT (first of the two UDP ports of a pair;
# default: a free pair), LAB_VM_KEEP=1 (keep $LAB_STATE/vm/<name> after a success),
# LAB_VM_QUIET=1 (no summary line on stderr), LAB_VM_APPEND (more kernel arguments;
# "lab.debug" prints a boot profile to the console), LAB_VM_CPU=max; for `build`:
# LAB_VM_PACKAGES / LAB_VM_EXTRA_PACKAGES / LAB_VM_UNPACK (see below), LAB_VM_MIRROR,
# LAB_VM_SUITE, LAB_VM_KERNEL_PKG.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

VM_CACHE=$LAB_CACHE/vm
VM_GUEST=$LAB_DIR/vm
VM_RECIPE=3 # bump when the build recipe below changes in a way the keys do not see

# Root image: debootstrap --variant=minbase --include=these (dependencies resolved).
VM_PACKAGES=${LAB_VM_PACKAGES:-kmod iproute2 busybox nftables ocfs2-tools rbd-nbd ceph-common
    librbd1 librados2 resource-agents libxml2-utils procps util-linux e2fsprogs}
VM_PACKAGES="$VM_PACKAGES ${LAB_VM_EXTRA_PACKAGES:-}"
# Unpacked into the image without their dependencies: ceph-resource-agents (the ocf:ceph:rbd
# agent, one shell script) depends on the whole Ceph server ("ceph": mon, osd, mgr).
VM_UNPACK=${LAB_VM_UNPACK:-ceph-resource-agents}
VM_MIRROR=${LAB_VM_MIRROR:-http://deb.debian.org/debian}
VM_SUITE=${LAB_VM_SUITE:-bookworm}
# Kernel modules the image carries (plus their dependencies), and whole module folders.
VM_MODULES="virtio_pci virtio_blk virtio_net virtio_console virtio_rng 9p 9pnet_virtio ext4
    configfs ocfs2 ocfs2_stack_o2cb ocfs2_stack_user ocfs2_dlmfs rbd nbd libceph softdog
    loop dm_mod overlay sch_netem veth dummy bridge af_packet"
VM_MODULE_DIRS="kernel/net/netfilter kernel/net/ipv4/netfilter kernel/net/ipv6/netfilter
    kernel/crypto kernel/arch/x86/crypto"
# Modules stage 1 (the initramfs) loads: the root disk, and what stage 2 needs at once (insmod
# from the initramfs costs next to nothing; modprobe from the root disk ~1 s under TCG).
VM_INITRD_MODULES="virtio_pci virtio_blk ext4 virtio_net virtio_console virtio_rng 9pnet_virtio 9p
    nf_tables nft_chain_nat nft_nat nft_masq"
VM_QBOOT=/usr/share/qemu/qboot.rom

VM_TIMEOUT=${LAB_VM_TIMEOUT:-600}
VM_CEPH_PORTS=${LAB_VM_CEPH_PORTS-13300-13399}
VM_TB_SIZE=${LAB_VM_TB_SIZE:-32}

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
now() { date +%s.%N; }
since() { awk -v a="$(now)" -v b="$1" 'BEGIN{printf "%.1f", a-b}'; }
sha() { sha256sum | cut -c1-12; }

# ---------------------------------------------------------------- build

# vm_kernel_pkg: sets KPKG (the package linux-image-amd64 depends on) and KVER (its version).
# apt-cache takes ~0.7 s here (no pkgcache.bin), so the answer is remembered until the apt
# lists change.
vm_kernel_pkg() {
    local i stamp memo=$VM_CACHE/.kernel-pkg meta=${LAB_VM_KERNEL_PKG:-linux-image-amd64}
    stamp=$({ echo "$meta"; stat -c '%n %s %Y' /var/lib/apt/lists/*Packages* 2>/dev/null; } | sha)
    if [ -s "$memo" ] && read -r i KPKG KVER <"$memo" && [ "$i" = "$stamp" ] && [ -n "$KVER" ]; then return 0; fi
    for i in 1 2; do
        # "Depends: linux-image-6.1.0-56-amd64 (= 6.1.192-2)"; a named kernel package is itself
        read -r KPKG KVER < <(apt-cache show --no-all-versions "$meta" 2>/dev/null | awk -v m="$meta" '
            /^Version:/ { v = $2 }
            /^Depends:/ && m == "linux-image-amd64" { for (i = 2; i <= NF; i++) if ($i ~ /^linux-image-/) { p = $i; x = $(i + 2); sub(/\)$/, "", x) } }
            END { if (m != "linux-image-amd64") { p = m; x = v } if (p != "" && x != "") print p, x }') || true
        [ -n "${KVER:-}" ] && break
        [ $i = 1 ] && { lab_log vm "apt-cache does not know $meta: apt-get update"; apt-get update -q >&2; }
    done
    [ -n "${KVER:-}" ] || lab_die vm "cannot find the kernel package (apt-cache show $meta)"
    mkdir -p "$VM_CACHE" && echo "$stamp $KPKG $KVER" >"$memo"
}

# vm_keys: the cache paths of the current build (cheap: no downloads, < 0.5 s).
vm_keys() {
    vm_kernel_pkg
    local busybox
    busybox=$(command -v busybox) || lab_die vm "no busybox (package busybox-static)"
    K_DIR=$VM_CACHE/kernel-${KVER}-$(echo "$VM_RECIPE $KPKG $KVER $VM_MODULES $VM_MODULE_DIRS" | sha)
    ROOT_IMG=$VM_CACHE/root-$(echo "$VM_RECIPE $K_DIR $VM_SUITE $VM_MIRROR $VM_PACKAGES | $VM_UNPACK" | sha).img
    INITRD=$VM_CACHE/initrd-$({ echo "$VM_RECIPE $K_DIR $VM_INITRD_MODULES"; cat "$VM_GUEST/init" "$VM_GUEST/lab-init" "$busybox"; } | sha).img
    VMLINUX=$K_DIR/vmlinux
}

vm_built() { [ -s "$VMLINUX" ] && [ -s "$ROOT_IMG" ] && [ -s "$INITRD" ]; }

# vm_deps MODROOT KV NAME...: the .ko paths (relative to lib/modules/KV) NAMEs need, dependencies first.
vm_deps() {
    local root=$1 kv=$2 m
    shift 2
    for m in "$@"; do
        modprobe -d "$root" -S "$kv" --show-depends "$m" 2>/dev/null |
            awk -v p="$root/lib/modules/$kv/" '$1 == "insmod" { sub(p, "", $2); print $2 }' ||
            lab_log vm "module $m: not found (built in?)"
    done | awk '!seen[$0]++'
}

vm_build_kernel() {
    local t0 tmp kv f
    t0=$(now)
    tmp=$VM_CACHE/tmp-kernel.$$
    rm -rf "$tmp" && mkdir -p "$tmp/deb"
    lab_log vm "kernel: apt-get download $KPKG ($KVER)"
    (cd "$tmp/deb" && apt-get download "$KPKG" 2>&1 | grep -v unsandboxed >&2) || true
    f=$(find "$tmp/deb" -name "${KPKG}_*.deb" | head -n 1)
    [ -n "$f" ] || lab_die vm "apt-get download $KPKG failed"
    dpkg-deb -x "$f" "$tmp/x"
    kv=$(ls "$tmp/x/lib/modules")
    depmod -b "$tmp/x" "$kv"
    # The uncompressed ELF vmlinux (CONFIG_PVH=y) boots straight from qboot: no bzImage
    # real-mode setup, no decompression under TCG.
    python3 - "$tmp/x/boot/vmlinuz-$kv" "$tmp/vmlinux" <<'PY'
import lzma, sys
data = open(sys.argv[1], 'rb').read()
off = data.find(b'\xfd7zXZ\x00')  # Debian's x86 bzImage payload is xz
if off < 0:
    sys.exit("vmlinuz: no xz payload found")
out = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data[off:])
if out[:4] != b'\x7fELF':
    sys.exit("vmlinuz: payload is not an ELF")
open(sys.argv[2], 'wb').write(out)
PY
    # Keep only the modules the lab can use (+ deps): ~391 MB -> a few MB.
    mkdir -p "$tmp/mods/lib/modules/$kv"
    {
        # shellcheck disable=SC2086 # VM_MODULES is a list of module names, one a word
        vm_deps "$tmp/x" "$kv" $VM_MODULES
        for d in $VM_MODULE_DIRS; do
            [ -d "$tmp/x/lib/modules/$kv/$d" ] || continue
            (cd "$tmp/x/lib/modules/$kv" && find "$d" -name '*.ko*') | while read -r f; do
                f=${f##*/}
                vm_deps "$tmp/x" "$kv" "${f%%.ko*}"
            done
        done
    } | awk '!seen[$0]++' | (cd "$tmp/x/lib/modules/$kv" && cpio -pdm --quiet "$tmp/mods/lib/modules/$kv")
    cp "$tmp/x/lib/modules/$kv"/modules.{order,builtin,builtin.modinfo} "$tmp/mods/lib/modules/$kv/"
    depmod -b "$tmp/mods" "$kv"
    echo "$kv" >"$tmp/kv"
    rm -rf "$tmp/x" "$tmp/deb"
    rm -rf "$K_DIR" && mv "$tmp" "$K_DIR"
    lab_log vm "kernel: $kv, vmlinux $(du -m "$K_DIR/vmlinux" | cut -f1) MiB, $(find "$K_DIR/mods" -name '*.ko*' | wc -l) modules ($(du -sm "$K_DIR/mods" | cut -f1) MiB), $(since "$t0") s"
}

vm_build_initrd() {
    local t0 kv st m
    t0=$(now)
    kv=$(cat "$K_DIR/kv")
    st=$VM_CACHE/tmp-initrd.$$
    rm -rf "$st" && mkdir -p "$st"/{bin,etc,dev,proc,sys,newroot}
    cp "$(command -v busybox)" "$st/bin/busybox"
    if ldd "$st/bin/busybox" >/dev/null 2>&1; then lab_die vm "$(command -v busybox) is not static (install busybox-static)"; fi
    # shellcheck disable=SC2086 # VM_INITRD_MODULES is a list of module names, one a word
    for m in $(vm_deps "$K_DIR/mods" "$kv" $VM_INITRD_MODULES); do
        install -D -m 0644 "$K_DIR/mods/lib/modules/$kv/$m" "$st/lib/modules/$kv/$m"
        echo "/lib/modules/$kv/$m"
    done >"$st/etc/modules.load"
    install -m 0755 "$VM_GUEST/init" "$st/init"
    install -m 0755 "$VM_GUEST/lab-init" "$st/lab-init"
    (cd "$st" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -1) >"$INITRD.tmp"
    mv "$INITRD.tmp" "$INITRD"
    rm -rf "$st"
    lab_log vm "initrd: $(du -k "$INITRD" | cut -f1) KiB, $(since "$t0") s"
}

vm_build_root() {
    local t0 t1 kv tmp r p f size
    t0=$(now)
    kv=$(cat "$K_DIR/kv")
    tmp=$VM_CACHE/tmp-root.$$
    r=$tmp/root
    rm -rf "$tmp" && mkdir -p "$tmp" "$VM_CACHE/debs"
    local include
    include=$(echo "$VM_PACKAGES" | xargs | tr ' ' ,)
    lab_log vm "root: debootstrap --variant=minbase $VM_SUITE --include=$include"
    if ! debootstrap --variant=minbase --include="$include" \
        --cache-dir="$VM_CACHE/debs" "$VM_SUITE" "$r" "$VM_MIRROR" >"$tmp/debootstrap.log" 2>&1; then
        tail -n 30 "$tmp/debootstrap.log" >&2
        lab_die vm "debootstrap failed (log: $tmp/debootstrap.log)"
    fi
    t1=$(now)
    lab_log vm "root: debootstrap $(since "$t0") s, $(du -sm "$r" | cut -f1) MiB"
    for p in $VM_UNPACK; do
        [ -n "$(find "$VM_CACHE/debs" -name "${p}_*.deb")" ] ||
            (cd "$VM_CACHE/debs" && apt-get download "$p" 2>&1 | grep -v unsandboxed >&2) || true
        f=$(find "$VM_CACHE/debs" -name "${p}_*.deb" | sort -V | tail -n 1)
        [ -n "$f" ] || lab_die vm "apt-get download $p failed"
        dpkg-deb -x "$f" "$r"
    done
    # trim: documentation, translations, package caches, logs
    rm -rf "$r"/usr/share/{doc,man,info,locale,lintian,linda,bug,bash-completion}/* \
        "$r"/var/cache/apt/* "$r"/var/lib/apt/lists/* "$r"/var/cache/debconf/*-old \
        "$r"/var/cache/man "$r"/usr/share/zoneinfo/right
    # Ceph file system and object gateway tools of ceph-common (~40 MB) the lab never runs
    rm -f "$r"/usr/bin/{radosgw-admin,cephfs-table-tool,cephfs-journal-tool,cephfs-data-scan,ceph-syn}
    find "$r/var/log" -type f -delete
    find "$r"/usr/lib/python3* -name __pycache__ -prune -exec rm -rf {} + 2>/dev/null || true
    mkdir -p "$r/lib/modules"
    cp -a "$K_DIR/mods/lib/modules/$kv" "$r/lib/modules/"
    # no init system, no udev: stage 2 of the lab (vm/lab-init) is PID 1
    echo vm >"$r/etc/hostname"
    printf '127.0.0.1\tlocalhost\n192.168.77.1\tnode1\n192.168.77.2\tnode2\n' >"$r/etc/hosts"
    echo "nameserver 10.0.2.3" >"$r/etc/resolv.conf"
    : >"$r/etc/fstab"
    ln -sf /proc/self/mounts "$r/etc/mtab"
    size=$(($(du -sm "$r" | cut -f1) * 11 / 10 + 512))
    mkfs.ext4 -q -F -L labroot -m 0 -O ^has_journal -d "$r" "$tmp/root.img" "${size}M" >/dev/null
    mv "$tmp/root.img" "$ROOT_IMG"
    lab_log vm "root: $(du -sm "$r" | cut -f1) MiB of files, image ${size} MiB apparent / $(du -m "$ROOT_IMG" | cut -f1) MiB on disk, $(since "$t1") s after debootstrap"
    rm -rf "$tmp"
}

vm_build() {
    local t0
    t0=$(now)
    vm_keys
    vm_built && { [ "${1:-}" = quiet ] || lab_log vm "build: up to date ($(since "$t0") s)"; return 0; }
    [ "$(id -u)" = 0 ] || lab_die vm "build needs root (debootstrap)"
    local t
    for t in apt-get dpkg-deb debootstrap depmod modprobe cpio gzip mkfs.ext4 python3 qemu-system-x86_64; do
        command -v "$t" >/dev/null || lab_die vm "missing $t (see test/lab/deps)"
    done
    mkdir -p "$VM_CACHE"
    exec 9>"$VM_CACHE/.lock"
    flock 9
    if ! vm_built; then # another build may have finished while we waited
        [ -s "$VMLINUX" ] || vm_build_kernel
        [ -s "$INITRD" ] || vm_build_initrd
        [ -s "$ROOT_IMG" ] || vm_build_root
        lab_log vm "build: done in $(since "$t0") s; cache $(du -sm "$VM_CACHE" | cut -f1) MiB ($VM_CACHE)"
    fi
    exec 9>&-
}

vm_info() {
    vm_build quiet
    echo "VM_KERNEL=$(cat "$K_DIR/kv")"
    echo "VM_KERNEL_PKG=${KPKG}_$KVER"
    echo "VM_VMLINUX=$VMLINUX"
    echo "VM_INITRD=$INITRD"
    echo "VM_ROOT_IMG=$ROOT_IMG"
}

vm_clean() {
    vm_keys
    local f
    for f in "$VM_CACHE"/kernel-* "$VM_CACHE"/root-*.img "$VM_CACHE"/initrd-*.img "$VM_CACHE"/tmp-*; do
        [ -e "$f" ] || continue
        case $f in "$K_DIR" | "$ROOT_IMG" | "$INITRD") continue ;; esac
        lab_log vm "clean: $f"
        rm -rf "$f"
    done
}

# ---------------------------------------------------------------- run

# vm_guest_dir HOSTDIR FALLBACK: where HOSTDIR is mounted in the VM -- the same path, unless
# that would hide (part of) the guest's system or cannot be expressed.
vm_guest_dir() {
    case $1 in
    *[[:space:],:]*) echo "$2" ;;
    / | /bin* | /boot* | /dev* | /etc* | /lib* | /proc* | /run* | /sbin* | /sys* | /usr* | /var | /var/[!t]* | \
        /root | /home | /mnt | /opt | /srv | /media | /tmp | /var/tmp) echo "$2" ;;
    *) echo "$1" ;;
    esac
}

q() { printf "'%s'" "${1//\'/\'\\\'\'}"; } # quote for /bin/sh

# vm_prepare: parse options into globals, lay out the run dir, write the job.
vm_prepare() {
    MEM=384 SHARE=$LAB_ROOT NAME='' MOUNTS=() DISKS=() SHARED_DISKS=()
    while [ $# -gt 0 ]; do
        case $1 in
        --mem) MEM=$2; shift 2 ;;
        --share) SHARE=$2; shift 2 ;;
        --mount) MOUNTS+=("$2"); shift 2 ;;
        --disk) if [ "$MODE" = pair ]; then SHARED_DISKS+=("$2"); else DISKS+=("$2"); fi; shift 2 ;;
        --shared-disk) SHARED_DISKS+=("$2"); shift 2 ;;
        --name) NAME=$2; shift 2 ;;
        --) shift; break ;;
        *) usage ;;
        esac
    done
    [ $# -gt 0 ] || usage
    [[ $MEM =~ ^[0-9]+$ ]] || lab_die vm "--mem wants MiB"
    [[ ${NAME:-x} =~ ^[A-Za-z0-9._-]+$ ]] || lab_die vm "--name: letters, digits, . _ - only"
    local d
    for d in "${DISKS[@]}" "${SHARED_DISKS[@]}"; do
        [ -f "$d" ] || lab_die vm "no disk image $d"
        case $d in *,*) lab_die vm "disk path with a comma: $d" ;; esac
    done
    SHARE=$(cd "$SHARE" && pwd) || lab_die vm "no share folder $SHARE"
    vm_build quiet
    TEMP_NAME=0
    [ -n "$NAME" ] || { NAME=$MODE-$$; TEMP_NAME=1; }
    RUN=$LAB_STATE/vm/$NAME
    mkdir -p "$RUN"
    rm -rf "$RUN/io" "$RUN"/*.rc "$RUN"/*.console "$RUN"/*.qemu "$RUN"/*.rss "$RUN"/*.timeout "$RUN"/*.fifo-*
    mkdir -p "$RUN/io/xchg"
    # 9p shares: tag lab = the run's io folder (job, env, xchg); s0 = the share; s1.. = the
    # --mount folders and $LAB_STATE (the lab's Ceph configuration and keyrings), parents
    # first. A folder already visible through a share at its own path is not mounted again;
    # $LAB_STATE only ever goes to its own path.
    FSDEV=() GUEST_MOUNTS=''
    GUEST_SHARE=$(vm_guest_dir "$SHARE" /mnt/host)
    [ "$GUEST_SHARE" = "$SHARE" ] || lab_log vm "$SHARE is $GUEST_SHARE in the VM"
    vm_share 0 "$SHARE" "$GUEST_SHARE"
    local i=1 host guest state same=() dirs=() d skip
    [ "$GUEST_SHARE" != "$SHARE" ] || same+=("$SHARE")
    state=$(cd "$LAB_STATE" && pwd)
    for d in "${MOUNTS[@]}"; do dirs+=("$(cd "$d" 2>/dev/null && pwd)") || lab_die vm "no folder $d"; done
    while IFS= read -r host; do
        [ -n "$host" ] || continue
        skip=0
        for d in "${same[@]}"; do case $host/ in "$d"/*) skip=1 ;; esac; done
        [ $skip = 0 ] || continue
        guest=$(vm_guest_dir "$host" "/mnt/host$i")
        if [ "$guest" != "$host" ]; then
            [ "$host" != "$state" ] || continue
            lab_log vm "$host is $guest in the VM"
        else
            same+=("$host")
        fi
        vm_share $i "$host" "$guest"
        i=$((i + 1))
    done < <(printf '%s\n' "${dirs[@]}" "$state" | LC_ALL=C sort -u)
    [ $i -le 9 ] || lab_die vm "at most 8 --mount folders"
    FSDEV+=(-fsdev "local,id=fslab,path=$RUN/io,security_model=none"
        -device "virtio-9p-pci,fsdev=fslab,mount_tag=lab,addr=0x6")
    { printf 'exec'; printf ' %q' "$@"; echo; } >"$RUN/io/cmd"
}

# vm_share N HOSTDIR GUESTDIR: 9p share N (tag sN, PCI slot 7+N), mounted by stage 1.
vm_share() {
    case $2 in *,*) lab_die vm "folder path with a comma: $2" ;; esac
    FSDEV+=(-fsdev "local,id=fs$1,path=$2,security_model=none"
        -device "virtio-9p-pci,fsdev=fs$1,mount_tag=s$1,addr=$(printf 0x%x $((7 + $1)))")
    GUEST_MOUNTS+=" s$1:$3"
}

# vm_env NAME IP PEER PEER_IP: the guest's settings, read by vm/lab-init.
vm_env() {
    {
        echo "VM_NAME=$(q "$1")"
        echo "VM_IP=$(q "$2")"
        echo "VM_PEER=$(q "$3")"
        echo "VM_PEER_IP=$(q "$4")"
        echo "VM_SHARE=$(q "$GUEST_SHARE")"
        echo "LAB_MOUNTS=$(q "${GUEST_MOUNTS# }")"
        echo "LAB_VM_CEPH_PORTS=$(q "$VM_CEPH_PORTS")"
    } >"$RUN/io/$1.env"
}

# vm_pipes VM PREFIX: fifos for the command's stdout/stderr and the readers that copy them to
# ours. (qemu must not reopen our stdout itself: a reopened file gets its own offset, and
# writes through it and through ours would overwrite each other.)
vm_pipes() {
    local vm=$1 prefix=$2 f
    for f in out err; do
        rm -f "$RUN/$vm.fifo-$f"
        mkfifo "$RUN/$vm.fifo-$f"
        if [ -z "$prefix" ]; then
            if [ $f = out ]; then cat <"$RUN/$vm.fifo-$f" & else cat <"$RUN/$vm.fifo-$f" >&2 & fi
        else
            if [ $f = out ]; then sed -u "s/^/$prefix/" <"$RUN/$vm.fifo-$f" & else sed -u "s/^/$prefix/" <"$RUN/$vm.fifo-$f" >&2 & fi
        fi
        READERS+=($!)
    done
}

# vm_unpipe VM...: let the readers drain and finish (after the VMs ended).
vm_unpipe() {
    local vm f
    # a qemu that died before opening its fifos leaves a reader blocked in open(): open the
    # fifo once ourselves (read-write never blocks) so it sees end-of-file
    for vm in "$@"; do
        for f in out err; do exec 8<>"$RUN/$vm.fifo-$f" && exec 8>&-; done
    done
    wait "${READERS[@]}" 2>/dev/null || true
    READERS=()
    for vm in "$@"; do rm -f "$RUN/$vm".fifo-*; done
}
READERS=()

# vm_start VM OUT ERR [LINK_LOCAL LINK_PEER MAC]: launch qemu for VM in the background with its
# stdout/stderr port written to the paths OUT/ERR; sets QPID[VM], WPID[VM].
declare -A QPID WPID T0
vm_start() {
    local vm=$1 out=$2 err=$3 args=() i=0 d
    # shellcheck disable=SC2054 # qemu's own comma-separated options
    args=(-name "$vm" -accel "tcg,thread=multi,tb-size=$VM_TB_SIZE" -cpu "${LAB_VM_CPU:-max}" -smp 1 -m "$MEM"
        -nodefaults -no-user-config -display none -monitor none -no-reboot
        -bios "$VM_QBOOT" -kernel "$VMLINUX" -initrd "$INITRD"
        -append "console=ttyS0 panic=-1 quiet loglevel=4 mitigations=off random.trust_cpu=on cryptomgr.notests pci=noacpi lab.name=$vm ${LAB_VM_APPEND:-}"
        -serial "file:$RUN/$vm.console"
        -device virtio-serial-pci,id=vser,addr=0x2
        -chardev "file,id=out,path=$out,append=on" -device virtserialport,bus=vser.0,chardev=out,name=lab.out
        -chardev "file,id=err,path=$err,append=on" -device virtserialport,bus=vser.0,chardev=err,name=lab.err
        -chardev "file,id=rc,path=$RUN/$vm.rc" -device virtserialport,bus=vser.0,chardev=rc,name=lab.rc
        -netdev user,id=net0 -device virtio-net-pci,netdev=net0,addr=0x3
        -device virtio-rng-pci,addr=0x5
        "${FSDEV[@]}"
        -drive "file=$ROOT_IMG,format=raw,if=none,id=root,snapshot=on"
        -device virtio-blk-pci,drive=root,serial=labroot,addr=0x10)
    [ $# -lt 6 ] || args+=(-netdev "socket,id=link0,udp=127.0.0.1:$5,localaddr=127.0.0.1:$4"
        -device "virtio-net-pci,netdev=link0,mac=$6,addr=0x4")
    for d in "${DISKS[@]}"; do
        i=$((i + 1))
        args+=(-drive "file=$d,format=raw,if=none,id=d$i"
            -device "virtio-blk-pci,drive=d$i,serial=disk$i,addr=$(printf 0x%x $((16 + i)))")
    done
    for d in "${SHARED_DISKS[@]}"; do
        i=$((i + 1))
        args+=(-drive "file=$d,format=raw,if=none,id=d$i,cache=none,aio=threads"
            -device "virtio-blk-pci,drive=d$i,serial=disk$i,share-rw=on,addr=$(printf 0x%x $((16 + i)))")
    done
    T0[$vm]=$(now)
    # setpriv --pdeathsig: qemu dies with this script even when it is SIGKILLed (e.g. a test
    # timeout); the watchdog, the output readers and the snapshot files go with it.
    setpriv --pdeathsig KILL -- qemu-system-x86_64 "${args[@]}" </dev/null >"$RUN/$vm.qemu" 2>&1 &
    QPID[$vm]=$!
    echo "${QPID[$vm]}" >"$RUN/$vm.pid"
    # watchdog: peak RSS, and the time limit
    (
        trap - EXIT INT TERM
        end=$(($(date +%s) + VM_TIMEOUT))
        while lab_pid_alive "$RUN/$vm.pid" qemu-system >/dev/null; do
            while read -r k v _; do [ "$k" = VmHWM: ] && echo "$v" >"$RUN/$vm.rss"; done <"/proc/${QPID[$vm]}/status" 2>/dev/null || true
            if [ "$(date +%s)" -ge "$end" ]; then
                echo "timeout after $VM_TIMEOUT s" >"$RUN/$vm.timeout"
                lab_stop_pids 5 "${QPID[$vm]}"
                break
            fi
            sleep 0.5
        done
        # tell the other VM of a pair: $VM_XCHG/<vm>.exit holds the exit code (125: none),
        # unless the VM is to be booted again (see vm_pair)
        rc=$(head -c 16 "$RUN/$vm.rc" 2>/dev/null | tr -dc 0-9)
        [ -z "$rc" ] && [ -e "$RUN/io/xchg/$vm.reboot" ] || echo "${rc:-125}" >"$RUN/io/xchg/$vm.exit"
    ) &
    WPID[$vm]=$!
}

# vm_finish VM: wait for VM, print the summary, return the command's exit code (125: none).
vm_finish() {
    local vm=$1 qrc=0 rc='' boot rss why
    wait "${QPID[$vm]}" || qrc=$?
    wait "${WPID[$vm]}" 2>/dev/null || true # ends within 0.5 s of qemu
    rm -f "$RUN/$vm.pid"
    rc=$(head -c 16 "$RUN/$vm.rc" 2>/dev/null | tr -dc 0-9)
    boot=$(sed -n 's/.*lab-vm: command start at \([0-9.]*\)s.*/\1/p' "$RUN/$vm.console" 2>/dev/null | tail -1)
    rss=$(($(cat "$RUN/$vm.rss" 2>/dev/null || echo 0) / 1024))
    if [ -z "$rc" ]; then
        why="no exit code from the VM (qemu exit $qrc)"
        [ -e "$RUN/$vm.timeout" ] && why=$(cat "$RUN/$vm.timeout")
        grep -q 'Kernel panic' "$RUN/$vm.console" 2>/dev/null && why="kernel panic"
        {
            echo "---- $vm: $why; console tail ($RUN/$vm.console):"
            # from just before the first panic/oops/BUG report if there is one, else the end
            awk 'f == 0 && /Kernel panic|BUG:|Oops|general protection|lab-vm: (FATAL|stage 1)/ { f = NR }
                 { l[NR] = $0 } END { s = f ? f - 5 : NR - 40; if (s < 1) s = 1
                 for (i = s; i <= NR && i < s + 60; i++) print l[i] }' "$RUN/$vm.console" 2>/dev/null
            [ -s "$RUN/$vm.qemu" ] && { echo "---- qemu:"; tail -n 20 "$RUN/$vm.qemu"; }
            echo "----"
        } >&2
        rc=125
    fi
    if [ -z "${LAB_VM_QUIET:-}" ] || [ "$rc" != 0 ]; then
        lab_log vm "$vm: exit $rc, wall $(since "${T0[$vm]}") s, command started at ${boot:-?} s guest uptime, peak RSS $rss MiB"
    fi
    return "$rc"
}

vm_cleanup() {
    local vm pids=()
    for vm in "${!QPID[@]}"; do
        lab_pid_alive "$RUN/$vm.pid" qemu-system >/dev/null && pids+=("${QPID[$vm]}")
    done
    lab_stop_pids 5 "${pids[@]}"
    for vm in "${!QPID[@]}"; do rm -f "$RUN/$vm.pid" "$RUN/$vm".fifo-*; done
    for vm in "${!WPID[@]}"; do kill "${WPID[$vm]}" 2>/dev/null || true; done
    for vm in "${READERS[@]}"; do kill "$vm" 2>/dev/null || true; done
}

vm_done() { # vm_done RC: drop the run dir of an unnamed run, unless the VM failed (125)
    if [ "$1" = 125 ]; then
        lab_log vm "run files kept in $RUN"
    elif [ "$TEMP_NAME" = 1 ] && [ -z "${LAB_VM_KEEP:-}" ]; then
        rm -rf "$RUN"
    fi
}

vm_run() {
    MODE=run
    vm_prepare "$@"
    trap 'vm_cleanup' EXIT
    trap 'exit 130' INT TERM
    vm_env "$NAME" "" "" ""
    local rc=0
    vm_pipes "$NAME" ""
    vm_start "$NAME" "$RUN/$NAME.fifo-out" "$RUN/$NAME.fifo-err"
    vm_finish "$NAME" || rc=$?
    vm_unpipe "$NAME"
    trap - EXIT
    vm_done "$rc"
    exit "$rc"
}

# a free pair of UDP ports on 127.0.0.1: P and P+1
vm_link_ports() {
    local p used
    if [ -n "${LAB_VM_LINK_PORT:-}" ]; then echo "$LAB_VM_LINK_PORT"; return; fi
    used=$(ss -Hlun 2>/dev/null | awk '{n=split($4,a,":"); print a[n]}')
    for ((p = 20000 + ($$ % 4000) * 2; ; p += 2)); do
        [ $p -lt 28000 ] || p=20000
        grep -qx -e "$p" -e "$((p + 1))" <<<"$used" || { echo "$p"; return; }
    done
}

# vm_pair_start N BOOT: start VM nodeN of the pair (its BOOTth boot) on the link ports from
# PAIR_PORT.
vm_pair_start() {
    local n=$1 vm=node$1 peer=node$((3 - $1))
    vm_env "$vm" "192.168.77.$n" "$peer" "192.168.77.$((3 - n))"
    echo "$2" >"$RUN/io/xchg/$vm.boot"
    vm_pipes "$vm" "[$vm] "
    vm_start "$vm" "$RUN/$vm.fifo-out" "$RUN/$vm.fifo-err" \
        $((PAIR_PORT + n - 1)) $((PAIR_PORT + 2 - n)) "52:54:00:77:00:0$n"
}

vm_pair() {
    MODE=pair
    vm_prepare "$@"
    trap 'vm_cleanup' EXIT
    trap 'exit 130' INT TERM
    if [ ${#SHARED_DISKS[@]} = 0 ]; then
        truncate -s 1G "$RUN/shared.img"
        SHARED_DISKS=("$RUN/shared.img")
    fi
    local n vm rc=0 r got pids
    local -A live=() boots=()
    PAIR_PORT=$(vm_link_ports)
    for n in 1 2; do
        boots[node$n]=1 live[node$n]=1
        vm_pair_start $n 1
    done
    # as each qemu ends: boot it again if its command asked for that, else it is done
    while [ ${#live[@]} -gt 0 ]; do
        got='' pids=()
        for vm in "${!live[@]}"; do pids+=("${QPID[$vm]}"); done
        wait -n -p got "${pids[@]}" || true
        for vm in "${!live[@]}"; do [ "${QPID[$vm]}" = "$got" ] && break; done
        [ "${QPID[$vm]}" = "$got" ] || continue
        r=0
        vm_finish "$vm" || r=$?
        if [ "$r" = 125 ] && [ -e "$RUN/io/xchg/$vm.reboot" ]; then
            rm -f "$RUN/io/xchg/$vm.reboot"
            mv "$RUN/$vm.console" "$RUN/$vm.console.${boots[$vm]}" 2>/dev/null || true
            boots[$vm]=$((${boots[$vm]} + 1))
            lab_log vm "$vm: booting it again (boot ${boots[$vm]}), as its command asked"
            vm_pair_start "${vm#node}" "${boots[$vm]}"
            continue
        fi
        unset "live[$vm]"
        [ "$r" -le "$rc" ] || rc=$r
    done
    vm_unpipe node1 node2
    trap - EXIT
    rm -f "$RUN/shared.img"
    vm_done "$rc"
    exit "$rc"
}

# ---------------------------------------------------------------- smoke tests

vm_ceph_env() {
    if [ -z "${CEPH_CONF:-}" ]; then
        [ -x "$LAB_DIR/ceph.sh" ] || lab_die vm "no Ceph: set CEPH_CONF etc. or provide test/lab/ceph.sh"
        eval "$("$LAB_DIR/ceph.sh" env | sed 's/^/export /')"
    fi
    : "${CEPH_KEYRING:=$(dirname "$CEPH_CONF")/keyring}" "${CEPH_USER:=admin}" "${CEPH_POOL:=rbd}"
    [ -r "$CEPH_CONF" ] || lab_die vm "unreadable $CEPH_CONF"
    [ -r "$CEPH_KEYRING" ] || lab_die vm "unreadable $CEPH_KEYRING"
}

# vm_smoke_rbd krbd|nbd: create an image from the host, run vm/<kind>-smoke.sh in a VM, remove it.
vm_smoke_rbd() {
    local kind=$1 img rc=0 mounts=() d
    vm_ceph_env
    img=lab-vm-$kind-$$
    local rbd=(rbd --conf "$CEPH_CONF" --keyring "$CEPH_KEYRING" --id "$CEPH_USER")
    "${rbd[@]}" create --size 64M "$CEPH_POOL/$img" || lab_die vm "rbd create $CEPH_POOL/$img failed"
    # both files must be visible at their own paths (vm.sh run skips what already is)
    for d in "$(dirname "$CEPH_CONF")" "$(dirname "$CEPH_KEYRING")"; do
        d=$(cd "$d" && pwd)
        [ "$(vm_guest_dir "$d" -)" != - ] || lab_die vm "$d cannot be mounted at its own path in the VM"
        mounts+=(--mount "$d")
    done
    local conf=$CEPH_CONF keyring=$CEPH_KEYRING ports
    if [ -z "${LAB_VM_CEPH_PORTS+set}" ]; then
        ports=$(lab_ceph_ports "$CEPH_CONF")
        [ -z "$ports" ] || export LAB_VM_CEPH_PORTS=$ports
    fi
    # the same paths inside, unless vm_guest_dir moves them (then a --mount lands on /mnt/hostN)
    "$0" run "${mounts[@]}" --name "smoke-$kind" -- env CEPH_CONF="$conf" CEPH_KEYRING="$keyring" \
        CEPH_USER="$CEPH_USER" RBD_POOL="$CEPH_POOL" RBD_IMAGE="$img" RBD_SIZE_MB=64 \
        "test/lab/vm/$kind-smoke.sh" || rc=$?
    "${rbd[@]}" rm --no-progress "$CEPH_POOL/$img" >/dev/null 2>&1 || lab_log vm "rbd rm $CEPH_POOL/$img failed"
    return "$rc"
}

vm_smoke() {
    local t rc=0 r t0
    [ $# -gt 0 ] || usage
    [ "$1" != all ] || set -- ocfs2 krbd nbd
    for t in "$@"; do
        t0=$(now)
        r=0
        case $t in
        ocfs2) "$0" pair --name smoke-ocfs2 -- test/lab/vm/ocfs2-smoke.sh || r=$? ;;
        krbd | nbd) vm_smoke_rbd "$t" || r=$? ;;
        *) usage ;;
        esac
        lab_log vm "smoke $t: $([ $r = 0 ] && echo PASS || echo "FAIL ($r)") in $(since "$t0") s"
        [ $r = 0 ] || rc=1
    done
    return "$rc"
}

# vm_down: stop the qemus of every run dir (only pids whose command line is qemu's).
vm_down() {
    local f pid pids=()
    for f in "$LAB_STATE"/vm/*/*.pid; do
        [ -e "$f" ] || continue
        pid=$(lab_pid_alive "$f" qemu-system-x86_64) && pids+=("$pid")
    done
    [ ${#pids[@]} = 0 ] || lab_log vm "down: stopping qemu ${pids[*]}"
    lab_stop_pids 5 "${pids[@]}"
    rm -f "$LAB_STATE"/vm/*/*.pid
}

case ${1:-} in
build) vm_build ;;
down) vm_down ;;
run) shift; vm_run "$@" ;;
pair) shift; vm_pair "$@" ;;
smoke) shift; vm_smoke "$@" ;;
info) vm_info ;;
clean) vm_clean ;;
*) usage ;;
esac
