package krbd

import (
	"errors"
	"fmt"
	"os"

	"github.com/kvmha/kvmha/internal/agentlog"
)

// rbdBus is /sys/bus/rbd relative to the sysfs root.
const rbdBus = "bus/rbd"

func (t Tree) bus(elem ...string) string {
	return join(append([]string{t.Sys, rbdBus}, elem...)...)
}

// RBDLoaded reports whether the rbd module is loaded (/sys/bus/rbd exists).
func (t Tree) RBDLoaded() bool { return exists(t.bus()) }

// ErrFeaturesUnknown is returned by SupportedFeatures on kernels older than
// 4.11, which do not say what they support.
var ErrFeaturesUnknown = errors.New("the kernel does not publish /sys/bus/rbd/supported_features")

// SupportedFeatures is the feature mask the kernel rbd driver can map.
func (t Tree) SupportedFeatures() (Features, error) {
	s, err := readAttr(t.bus("supported_features"))
	if errors.Is(err, os.ErrNotExist) {
		if !t.RBDLoaded() {
			return 0, errors.New("the rbd module is not loaded")
		}
		return 0, ErrFeaturesUnknown
	}
	if err != nil {
		return 0, err
	}
	return ParseFeatures(s)
}

// controlFiles are the bus files a map and an unmap write to: the single
// major interface when the module offers it, else the old one.
func (t Tree) controlFiles() (add, remove string) {
	if exists(t.bus("add_single_major")) {
		return t.bus("add_single_major"), t.bus("remove_single_major")
	}
	return t.bus("add"), t.bus("remove")
}

// Unsupported checks an image's features against the kernel's. It returns
// nil when the kernel can map the image, an *UnsupportedError naming the
// missing features, or the error of reading supported_features.
func (t Tree) Unsupported(spec Spec, image Features) error {
	kernel, err := t.SupportedFeatures()
	if err != nil {
		return err
	}
	if missing := image &^ kernel; missing != 0 {
		return &UnsupportedError{Spec: spec, Unsupported: missing}
	}
	return nil
}

// checkID accepts device ids as the kernel makes them: small decimals.
func checkID(name string) (int, error) {
	if name == "" || len(name) > 9 {
		return 0, fmt.Errorf("%q is not an rbd device id", agentlog.Clip(name))
	}
	n := 0
	for _, c := range []byte(name) {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q is not an rbd device id", agentlog.Clip(name))
		}
		n = n*10 + int(c-'0')
	}
	return n, nil
}
