package doctor

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/kvmha/kvmha/internal/ceph"
	"github.com/kvmha/kvmha/internal/krbd"
)

// modules reads the module files once per run.
func (d *Doctor) modules(ctx context.Context) (*moduleIndex, error) {
	return d.mods.get(ctx, d.base, func(context.Context) (*moduleIndex, error) { return d.Root.readModules() })
}

func (d *Doctor) krbdTree() krbd.Tree {
	return krbd.Tree{Sys: d.Root.path("/sys"), Proc: d.Root.path("/proc"), Dev: d.Root.path("/dev")}
}

// checkKRBD: the kernel rbd driver is there or can be loaded.
func (d *Doctor) checkKRBD(ctx context.Context) Result {
	m, err := d.modules(ctx)
	if err != nil {
		return fail("see the error", "cannot read the kernel's modules: %v", err)
	}
	rep := m.module(d.Root, "rbd", d.krbdTree().RBDLoaded())
	if !rep.state.ok() {
		return fail(m.moduleFix(d.Root, rep, "or map images with rbd-nbd (ocf:kvmha:rbd driver=nbd)"), "kernel %s: %s", m.release, rep)
	}
	detail := fmt.Sprintf("kernel %s: %s", m.release, rep)
	if rep.state == modLoaded {
		if v, err := d.Root.readLine("/sys/module/rbd/parameters/single_major"); err == nil {
			detail += ", single_major=" + v
		}
	}
	return pass("%s", detail)
}

// imageScanWorkers bounds the images whose features are read at once.
const imageScanWorkers = 8

// checkKRBDFeatures: the kernel driver supports the features of every image
// of the pools. A lack is a warning, not a failure: qemu's librbd opens any
// image, and ocf:kvmha:rbd with driver=auto maps such an image with
// rbd-nbd; only kernel mapping needs the features disabled.
func (d *Doctor) checkKRBDFeatures(ctx context.Context) Result {
	tree := d.krbdTree()
	if len(d.Pools) == 0 {
		return skip("no pools to look at (--pools)")
	}
	if !tree.RBDLoaded() {
		return skip("the rbd module is not loaded, so the features it supports are unknown (modprobe rbd, then run again)")
	}
	kernel, err := tree.SupportedFeatures()
	if errors.Is(err, krbd.ErrFeaturesUnknown) {
		return warn("use a kernel of 4.11 or later, or map with rbd-nbd (driver=nbd)", "%v", err)
	}
	if err != nil {
		return fail("see the error", "%v", err)
	}
	s, err := d.cephSession(ctx)
	if err != nil {
		return d.sessionFailure(err)
	}
	type image struct {
		spec     krbd.Spec
		features krbd.Features
	}
	var (
		mu     sync.Mutex
		images []image
		errs   []string
		wg     sync.WaitGroup
		work   = make(chan krbd.Spec)
	)
	for range imageScanWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for spec := range work {
				f, err := s.ImageFeatures(ctx, spec.Pool, spec.Namespace, spec.Image)
				mu.Lock()
				switch {
				case err == nil:
					images = append(images, image{spec, krbd.Features(f)})
				case !ceph.IsNotFound(err): // removed while we looked: not our business
					errs = append(errs, fmt.Sprintf("%s: %v", spec, err))
				}
				mu.Unlock()
			}
		}()
	}
	for _, p := range d.Pools {
		names, err := s.ListImages(ctx, p.Name, p.Namespace)
		if err != nil {
			mu.Lock()
			errs = append(errs, fmt.Sprintf("pool %s: %v", p, err))
			mu.Unlock()
			continue
		}
		for _, n := range names {
			select {
			case work <- krbd.Spec{Pool: p.Name, Namespace: p.Namespace, Image: n}:
			case <-ctx.Done():
			}
		}
	}
	close(work)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return fail("raise --timeout, or name fewer pools (--pools)", "reading the images' features: %v", err)
	}
	sort.Slice(images, func(i, j int) bool { return images[i].spec.String() < images[j].spec.String() })
	var lacking, fixes []string
	for _, img := range images {
		if missing := img.features &^ kernel; missing != 0 {
			lacking = append(lacking, fmt.Sprintf("%s (%s)", img.spec.ImageSpec(), missing))
			fixes = append(fixes, (&krbd.UnsupportedError{Spec: img.spec, Unsupported: missing}).Fix())
		}
	}
	pools := make([]string, len(d.Pools))
	for i, p := range d.Pools {
		pools[i] = p.String()
	}
	kernelSays := fmt.Sprintf("kernel rbd supports %s", kernel)
	if len(errs) > 0 {
		return fail(d.capsFix(), "%s; cannot read every image: %s", kernelSays, strings.Join(errs, "; "))
	}
	if len(lacking) > 0 {
		return warn(strings.Join(firstN(fixes, 5), "; "), "%s; %d of %d images in %s use features it lacks: %s",
			kernelSays, len(lacking), len(images), strings.Join(pools, ", "), strings.Join(firstN(lacking, 10), ", "))
	}
	return pass("%s; %s in %s: all fit", kernelSays, plural(len(images), "image"), strings.Join(pools, ", "))
}

// firstN keeps the first n items and says how many more there were.
func firstN(items []string, n int) []string {
	if len(items) <= n {
		return items
	}
	return append(items[:n:n], fmt.Sprintf("and %d more", len(items)-n))
}

// checkNBD: the nbd driver and the rbd-nbd program.
func (d *Doctor) checkNBD(ctx context.Context) Result {
	m, err := d.modules(ctx)
	if err != nil {
		return fail("see the error", "cannot read the kernel's modules: %v", err)
	}
	rep := m.module(d.Root, "nbd", d.Root.exists("/sys/module/nbd") || d.Root.exists("/sys/block/nbd0"))
	detail := fmt.Sprintf("kernel %s: %s", m.release, rep)
	if rep.state == modLoaded {
		if v, err := d.Root.readLine("/sys/module/nbd/parameters/nbds_max"); err == nil {
			detail += fmt.Sprintf(" (nbds_max=%s)", v)
		}
	}
	tool := d.Root.lookPath("rbd-nbd")
	toolFix := d.Root.distribution().install("rbd-nbd", "rbd-nbd", "rbd-nbd")
	switch {
	case !rep.state.ok() && tool == "":
		return fail(m.moduleFix(d.Root, rep, toolFix), "%s; no rbd-nbd", detail)
	case !rep.state.ok():
		return fail(m.moduleFix(d.Root, rep, ""), "%s", detail)
	case tool == "":
		return fail(toolFix, "%s; no rbd-nbd in %s", detail, strings.Join(binDirs, ":"))
	}
	return pass("%s; rbd-nbd at %s", detail, tool)
}
