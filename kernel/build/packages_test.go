package build

import (
	"context"
	"reflect"
	"strings"
	"testing"
)

func TestParsePackageList(t *testing.T) {
	got, err := ParsePackageList("# c\ndocker.io\n\n  runc # trailing\nlinux-image-cloud-{arch} only=linux-image-*\n", "arm64")
	if err != nil {
		t.Fatal(err)
	}
	want := []Wanted{{Name: "docker.io"}, {Name: "runc"}, {Name: "linux-image-cloud-arm64", Only: "linux-image-*"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v", got)
	}
	got, err = ParsePackageList("virtiofsd only=virtiofsd,libc6,lib*\n", "amd64")
	if err != nil || len(got) != 1 || got[0].Only != "virtiofsd,libc6,lib*" {
		t.Errorf("only= list: %+v %v", got, err)
	}
	for _, n := range []string{"virtiofsd", "libc6", "libseccomp2"} {
		if !matchOnly(got[0].Only, n) {
			t.Errorf("%s does not match %s", n, got[0].Only)
		}
	}
	if matchOnly(got[0].Only, "uidmap") {
		t.Error("uidmap matches")
	}
	for _, bad := range []string{"x nodeps\n", "x only=[\n", "x only=a,,b\n", "# only comments\n"} {
		if _, err := ParsePackageList(bad, "amd64"); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

func TestLockRoundTrip(t *testing.T) {
	l := Lock{Arch: "amd64", Suite: "trixie", Wanted: "0123abcd", Packages: []Pin{{"runc", "1.1.15+ds1-2+b4"}, {"busybox-static", "1:1.37.0-6+b9"}}}
	text := string(FormatLock(l))
	if !strings.Contains(text, "busybox-static=1:1.37.0-6+b9\nrunc=") {
		t.Errorf("not sorted:\n%s", text)
	}
	got, err := ParseLock(text)
	if err != nil {
		t.Fatal(err)
	}
	if got.Arch != "amd64" || got.Suite != "trixie" || got.Wanted != "0123abcd" || len(got.Packages) != 2 || got.Packages[0].Name != "busybox-static" {
		t.Errorf("round trip: %+v", got)
	}
	for _, bad := range []string{
		"# arch: amd64\n# suite: trixie\nrunc\n",
		"# arch: amd64\n# suite: trixie\nrunc=1 x\n",
		"# arch: amd64\n# suite: trixie\nrunc=1\nrunc=2\n",
		"runc=1\n",
		"# arch: amd64\n# suite: trixie\n",
	} {
		if _, err := ParseLock(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

func TestDebFileName(t *testing.T) {
	p := Pin{"busybox-static", "1:1.37.0-6+b9"}
	if got := p.DebFileName("amd64"); got != "busybox-static_1%3a1.37.0-6+b9_amd64.deb" {
		t.Errorf("got %s", got)
	}
}

const simulated = `Reading package lists...
Building dependency tree...
The following NEW packages will be installed:
  libc6 runc
Inst gcc-14-base (14.2.0-19 Debian:13.8/stable [amd64])
Inst libc6 (2.41-12+deb13u5 Debian:13.8/stable [amd64]) []
Inst busybox-static (1:1.37.0-6+b9 Debian:13.8/stable [amd64])
Inst base-files [13.8] (13.8+deb13u8 Debian:13.8/stable [amd64])
Conf libc6 (2.41-12+deb13u5 Debian:13.8/stable [amd64])
`

func TestParseSimulatedInstall(t *testing.T) {
	got, err := ParseSimulatedInstall(simulated)
	if err != nil {
		t.Fatal(err)
	}
	want := []Pin{{"gcc-14-base", "14.2.0-19"}, {"libc6", "2.41-12+deb13u5"}, {"busybox-static", "1:1.37.0-6+b9"}, {"base-files", "13.8+deb13u8"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v", got)
	}
}

func TestResolveAll(t *testing.T) {
	fake := func(_ context.Context, names []string) ([]Pin, error) {
		if names[0] == "linux-image-cloud-amd64" {
			return []Pin{{"linux-image-cloud-amd64", "6.12"}, {"linux-image-6.12-cloud-amd64", "6.12"}, {"initramfs-tools", "0.148"}, {"kmod", "34"}}, nil
		}
		return []Pin{{"kmod", "34"}, {"docker.io", "26"}}, nil
	}
	got, err := resolveAll(context.Background(), fake, []Wanted{{Name: "docker.io"}, {Name: "linux-image-cloud-amd64", Only: "linux-image-*"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []Pin{{"docker.io", "26"}, {"kmod", "34"}, {"linux-image-6.12-cloud-amd64", "6.12"}, {"linux-image-cloud-amd64", "6.12"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v", got)
	}
	conflict := func(_ context.Context, names []string) ([]Pin, error) {
		return []Pin{{"kmod", names[0]}}, nil
	}
	if _, err := resolveAll(context.Background(), conflict, []Wanted{{Name: "a"}, {Name: "b", Only: "*"}}); err == nil {
		t.Error("conflicting versions: want an error")
	}
}

func TestWantedDigest(t *testing.T) {
	a, _ := ParsePackageList("# comment\ndocker.io\nlinux-image-cloud-{arch} only=linux-image-*\n", "amd64")
	b, _ := ParsePackageList("docker.io   # engine\n\nlinux-image-cloud-{arch}  only=linux-image-*\n", "amd64")
	c, _ := ParsePackageList("docker.io\nlinux-image-cloud-{arch}\n", "amd64")
	if WantedDigest(a) != WantedDigest(b) {
		t.Error("comments and spacing changed the digest")
	}
	if WantedDigest(a) == WantedDigest(c) {
		t.Error("a changed option left the digest unchanged")
	}
}

func TestParsePackageListKeep(t *testing.T) {
	for arch, want := range map[string]string{"amd64": "usr/bin/qemu-aarch64", "arm64": "usr/bin/qemu-x86_64"} {
		got, err := ParsePackageList("qemu-user only=qemu-user keep=usr/bin/qemu-{foreign}\n", arch)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Keep != want || got[0].Only != "qemu-user" {
			t.Errorf("%s: got %+v, want keep=%s", arch, got, want)
		}
	}
	for _, bad := range []string{"a keep=", "a keep=/usr/bin/x", "a keep=../x", "a keep=usr/[x"} {
		if _, err := ParsePackageList(bad+"\n", "amd64"); err == nil || !strings.Contains(err.Error(), "keep") {
			t.Errorf("%q: err = %v, want one naming keep", bad, err)
		}
	}
	// A changed keep= makes the lock stale.
	a, _ := ParsePackageList("q only=q\n", "amd64")
	b, _ := ParsePackageList("q only=q keep=usr/bin/x\n", "amd64")
	if WantedDigest(a) == WantedDigest(b) {
		t.Error("keep= does not change the digest")
	}
}
