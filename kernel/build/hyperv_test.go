package build

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/berth-dev/berth/guest/guestconfig"
)

// testdata/modules.dep.hyperv holds the lines of the image's modules.dep
// (Debian trixie's 6.12 cloud kernel, linux-image-cloud-amd64) for the
// modules a virtio and a Hyper-V boot need.
func hypervDeps(t *testing.T) ModuleDeps {
	t.Helper()
	b, err := os.ReadFile("testdata/modules.dep.hyperv")
	if err != nil {
		t.Fatal(err)
	}
	deps, err := ParseModulesDep(string(b))
	if err != nil {
		t.Fatal(err)
	}
	return deps
}

func TestHyperVInitramfsModules(t *testing.T) {
	deps := hypervDeps(t)
	order, err := deps.LoadOrder(InitramfsModules, nil)
	if err != nil {
		t.Fatal(err)
	}
	hv, err := deps.LoadOrder(HyperVInitramfsModules, nil)
	if err != nil {
		t.Fatal(err)
	}
	paths, names := HyperVOnly(order, hv)
	want := []string{"hv_vmbus.ko", "scsi_common.ko", "scsi_mod.ko", "scsi_transport_fc.ko", "hv_storvsc.ko", "sd_mod.ko", "overlay.ko", "button.ko", "evdev.ko"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("the Hyper-V load order = %v, want %v", names, want)
	}
	// The files shared with the virtio boot are not added twice; virtio_blk
	// is not in the Hyper-V order.
	for _, p := range paths {
		if slices.Contains(order, p) {
			t.Errorf("%s added twice", p)
		}
	}
	if len(paths) != 6 || slices.Contains(names, "virtio_blk.ko") {
		t.Errorf("added %v", paths)
	}

	files := InitramfsContents([]byte("init"), []InitramfsFile{{Name: "virtio_blk.ko"}, {Name: "overlay.ko"}}, []InitramfsFile{{Name: "hv_vmbus.ko"}}, []string{"hv_vmbus.ko", "overlay.ko"})
	byName := map[string]string{}
	for _, f := range files {
		byName[f.Name] = string(f.Data)
	}
	if byName[InitramfsModuleOrder] != "virtio_blk.ko\noverlay.ko\n" || byName[InitramfsModuleOrderHyperV] != "hv_vmbus.ko\noverlay.ko\n" {
		t.Errorf("orders: %q, %q", byName[InitramfsModuleOrder], byName[InitramfsModuleOrderHyperV])
	}
	if _, ok := byName["modules/hv_vmbus.ko"]; !ok {
		t.Error("the Hyper-V module's file is missing")
	}
}

// TestHyperVGuestModulesExist checks that what a Hyper-V guest loads in
// stage 2 (guestconfig.HyperV) is a module of the image's kernel.
func TestHyperVGuestModulesExist(t *testing.T) {
	deps := hypervDeps(t)
	var hv []string
	for _, m := range guestconfig.HyperV(guestconfig.Default()).Modules {
		if strings.HasPrefix(m, "hv_") {
			hv = append(hv, m)
		}
	}
	if len(hv) != 3 {
		t.Fatalf("Hyper-V modules of the guest config: %v", hv)
	}
	if _, err := deps.LoadOrder(hv, nil); err != nil {
		t.Fatal(err)
	}
}
