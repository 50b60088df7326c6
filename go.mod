module github.com/kvmha/kvmha

go 1.26.0

require (
	github.com/beevik/etree v1.8.1
	github.com/ceph/go-ceph v0.40.0
	github.com/digitalocean/go-libvirt v0.0.0-20260217163227-273eaa321819
	github.com/urfave/cli/v2 v2.27.7
	golang.org/x/crypto v0.48.0
	golang.org/x/sys v0.49.0
)

require (
	github.com/cpuguy83/go-md2man/v2 v2.0.7 // indirect
	github.com/russross/blackfriday/v2 v2.1.0 // indirect
	github.com/xrash/smetrics v0.0.0-20240521201337-686a1a2994c1 // indirect
)
