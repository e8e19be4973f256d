package build

import (
	"reflect"
	"testing"
)

const modulesDep = `kernel/fs/overlayfs/overlay.ko.xz:
kernel/drivers/block/virtio_blk.ko.xz:
kernel/net/netfilter/nft_chain_nat.ko.xz: kernel/net/netfilter/nf_nat.ko.xz kernel/net/netfilter/nf_conntrack.ko.xz kernel/net/netfilter/nf_tables.ko.xz kernel/lib/libcrc32c.ko.xz kernel/net/ipv6/netfilter/nf_defrag_ipv6.ko.xz kernel/net/ipv4/netfilter/nf_defrag_ipv4.ko.xz kernel/net/netfilter/nfnetlink.ko.xz
kernel/net/netfilter/nf_nat.ko.xz: kernel/net/netfilter/nf_conntrack.ko.xz kernel/lib/libcrc32c.ko.xz kernel/net/ipv6/netfilter/nf_defrag_ipv6.ko.xz kernel/net/ipv4/netfilter/nf_defrag_ipv4.ko.xz
kernel/net/netfilter/nf_conntrack.ko.xz: kernel/lib/libcrc32c.ko.xz kernel/net/ipv6/netfilter/nf_defrag_ipv6.ko.xz kernel/net/ipv4/netfilter/nf_defrag_ipv4.ko.xz
kernel/net/netfilter/nf_tables.ko.xz: kernel/lib/libcrc32c.ko.xz kernel/net/netfilter/nfnetlink.ko.xz
kernel/lib/libcrc32c.ko.xz:
kernel/net/ipv6/netfilter/nf_defrag_ipv6.ko.xz:
kernel/net/ipv4/netfilter/nf_defrag_ipv4.ko.xz:
kernel/net/netfilter/nfnetlink.ko.xz:
kernel/drivers/char/hw_random/virtio-rng.ko.xz:
`

func TestLoadOrder(t *testing.T) {
	deps, err := ParseModulesDep(modulesDep)
	if err != nil {
		t.Fatal(err)
	}
	order, err := deps.LoadOrder([]string{"virtio_blk", "nft_chain_nat", "nf_tables", "virtio-rng", "ext4"}, []string{"kernel/fs/ext4/ext4.ko"})
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	for i, p := range order {
		if _, dup := pos[p]; dup {
			t.Fatalf("%s twice in %v", p, order)
		}
		pos[p] = i
	}
	if len(order) != 10 {
		t.Errorf("order has %d modules: %v", len(order), order)
	}
	for mod, ds := range deps {
		if _, ok := pos[mod]; !ok {
			continue
		}
		for _, d := range ds {
			if pos[d] > pos[mod] {
				t.Errorf("%s loads before its dependency %s", mod, d)
			}
		}
	}
	if order[0] != "kernel/drivers/block/virtio_blk.ko.xz" {
		t.Errorf("requested order not kept: %v", order)
	}
}

func TestLoadOrderErrors(t *testing.T) {
	deps, _ := ParseModulesDep(modulesDep + "kernel/a.ko: kernel/b.ko\nkernel/b.ko: kernel/a.ko\nkernel/c.ko: kernel/missing.ko\n")
	for _, names := range [][]string{{"a"}, {"c"}, {"nonexistent"}} {
		if _, err := deps.LoadOrder(names, nil); err == nil {
			t.Errorf("%v: want an error", names)
		}
	}
	if _, err := ParseModulesDep("no colon here\n"); err == nil {
		t.Error("want a parse error")
	}
}

func TestModuleNames(t *testing.T) {
	got := []string{ModuleName("kernel/drivers/char/hw_random/virtio-rng.ko.xz"), DecompressedName("kernel/fs/overlayfs/overlay.ko.xz"), DecompressedName("x/y.ko")}
	if want := []string{"virtio_rng", "overlay.ko", "y.ko"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v", got)
	}
}
