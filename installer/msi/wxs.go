// Package msi builds Berth's Windows installer with wixl (msitools) and
// signs it with osslsigncode.
//
// The package installs per user, without elevation, into
// %LOCALAPPDATA%\Programs\Berth: bin\berth.exe and bin\berth-tray.exe
// (bin\ goes on the user's PATH, and berth finds its image at
// ..\share\berth\image\<arch>, layout.ImageDirs), the guest image, the
// license when the source tree has one. It adds a Start-menu shortcut to
// the tray, the tray's HKCU Run value (layout.AutostartName) and the PATH
// entry; uninstalling removes exactly those, and never the user's
// machines (~/.berth, `berth delete`). A higher version replaces a lower
// one in place (MajorUpgrade, one fixed UpgradeCode). The docker context
// is made by the first `berth start`, not here. What needs an
// administrator (berth-service: Windows containers, the Hyper-V machine)
// is the separate per-machine package of service.go.
package msi

import (
	"bytes"
	"crypto/sha256"
	"encoding/xml"
	"fmt"
	"path"
	"path/filepath"
	"strings"
	"text/template"

	"github.com/berth-dev/berth/installer/layout"
)

// UpgradeCode ties every version of the package together: never change it.
const UpgradeCode = "4A63C441-89F9-4937-81C0-DC722AAF18F8"

// Options describe one MSI.
type Options struct {
	Version  string // MAJOR.MINOR.PATCH (layout.CheckVersion)
	Berth    string // berth.exe
	Tray     string // berth-tray.exe, built for the GUI subsystem
	Icon     string // berth.ico
	License  string // a license text file, or ""
	ImageDir string // the amd64 guest image
	Image    []layout.File
}

// FileName is the MSI's conventional name.
func FileName(version string) string { return fmt.Sprintf("berth-%s-x64.msi", version) }

// The install folder's parts, under LocalAppDataFolder.
const (
	ProgramsDir = "Programs"
	InstallDir  = "Berth"
	BinDir      = "bin"
)

type file struct {
	ID, Name, Source, Guid string
}

type dir struct {
	ID, Name string
	Files    []file
	Dirs     []*dir
}

// guid is a stable component GUID for key (name-based, UUID version 5
// layout over SHA-256): the same file keeps its component across
// versions, as Windows Installer's component rules require.
func guid(key string) string {
	h := sha256.Sum256([]byte("berth-msi:" + key))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return strings.ToUpper(fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16]))
}

// id is a valid MSI identifier for a path (letters, digits, '_', '.';
// at most 72 characters): a readable prefix and a hash.
func id(prefix, p string) string {
	h := sha256.Sum256([]byte(p))
	clean := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, path.Base(p))
	if len(clean) > 40 {
		clean = clean[:40]
	}
	return fmt.Sprintf("%s_%s_%x", prefix, clean, h[:6])
}

// tree is the install folder: bin\, the license, share\berth\image\amd64\.
func tree(o Options) (*dir, error) {
	root := &dir{ID: "INSTALLDIR", Name: InstallDir}
	bin := &dir{ID: "BINDIR", Name: BinDir, Files: []file{
		{ID: "berth.exe", Name: "berth.exe", Source: o.Berth, Guid: guid("bin/berth.exe")},
		{ID: "berth_tray.exe", Name: "berth-tray.exe", Source: o.Tray, Guid: guid("bin/berth-tray.exe")},
	}}
	root.Dirs = append(root.Dirs, bin)
	if o.License != "" {
		root.Files = append(root.Files, file{ID: "LICENSE", Name: "LICENSE.txt", Source: o.License, Guid: guid("LICENSE.txt")})
	}
	image := &dir{ID: "IMAGEDIR", Name: "amd64"}
	root.Dirs = append(root.Dirs, &dir{ID: "SHAREDIR", Name: "share", Dirs: []*dir{
		{ID: "SHAREBERTHDIR", Name: "berth", Dirs: []*dir{{ID: "IMAGEROOTDIR", Name: "image", Dirs: []*dir{image}}}},
	}})
	for _, f := range layout.ImageFiles("windows", o.Image) {
		if f.Link != "" {
			return nil, fmt.Errorf("guest image file %s is a symlink: an MSI cannot hold one", f.Path)
		}
		d := image
		parts := strings.Split(f.Path, "/")
		for i, name := range parts[:len(parts)-1] {
			d = subdir(d, name, "image/"+strings.Join(parts[:i+1], "/"))
		}
		rel := "share/berth/image/amd64/" + f.Path
		d.Files = append(d.Files, file{ID: id("f", rel), Name: parts[len(parts)-1],
			Source: filepath.Join(o.ImageDir, filepath.FromSlash(f.Path)), Guid: guid(rel)})
	}
	return root, nil
}

func subdir(d *dir, name, key string) *dir {
	for _, s := range d.Dirs {
		if s.Name == name {
			return s
		}
	}
	s := &dir{ID: id("d", key), Name: name}
	d.Dirs = append(d.Dirs, s)
	return s
}

// components lists every file's component id, for the feature.
func components(d *dir) []string {
	var ids []string
	for _, f := range d.Files {
		ids = append(ids, "c_"+f.ID)
	}
	for _, s := range d.Dirs {
		ids = append(ids, components(s)...)
	}
	return ids
}

// The keys of the per-user registry values the package adds; the
// component of the shortcut, the Run value and the PATH entry is kept by
// a value under RegKey (a per-user component's key path is a registry
// value).
const (
	RegKey = `Software\Berth`
	RunKey = `Software\Microsoft\Windows\CurrentVersion\Run`
)

var wxsTemplate = template.Must(template.New("wxs").Funcs(template.FuncMap{"x": xmlEscape}).Parse(`<?xml version="1.0" encoding="utf-8"?>
<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">
  <Product Id="*" Name="{{x .Name}}" Language="1033" Version="{{x .Version}}" Manufacturer="{{x .Vendor}}" UpgradeCode="{{.UpgradeCode}}">
    <Package InstallerVersion="500" Compressed="yes" InstallScope="perUser" Description="{{x .Summary}}" Manufacturer="{{x .Vendor}}"/>
    <Property Id="ALLUSERS" Value="2"/>
    <Property Id="MSIINSTALLPERUSER" Value="1"/>
    <Property Id="ARPPRODUCTICON" Value="berth.ico"/>
    <Property Id="ARPURLINFOABOUT" Value="{{x .Homepage}}"/>
    <Property Id="ARPNOMODIFY" Value="1"/>
    <Icon Id="berth.ico" SourceFile="{{x .Icon}}"/>
    <MajorUpgrade DowngradeErrorMessage="A newer version of Berth is already installed."/>
    <Media Id="1" Cabinet="berth.cab" EmbedCab="yes"/>
    <Directory Id="TARGETDIR" Name="SourceDir">
      <Directory Id="LocalAppDataFolder">
        <Directory Id="PROGRAMSDIR" Name="{{.ProgramsDir}}">
{{template "dir" .Root}}
        </Directory>
      </Directory>
      <Directory Id="ProgramMenuFolder"/>
    </Directory>
    <DirectoryRef Id="TARGETDIR">
      <Component Id="c_integration" Guid="{{.IntegrationGuid}}">
        <RegistryValue Root="HKCU" Key="{{x .RegKey}}" Name="Installed" Type="string" Value="[BINDIR]" KeyPath="yes"/>
        <RegistryValue Root="HKCU" Key="{{x .RunKey}}" Name="{{x .RunName}}" Type="string" Value="&quot;[BINDIR]berth-tray.exe&quot;"/>
        <Shortcut Id="StartMenuShortcut" Directory="ProgramMenuFolder" Name="{{x .Name}}" Description="{{x .Summary}}" Target="[BINDIR]berth-tray.exe" WorkingDirectory="BINDIR" Icon="berth.ico"/>
      </Component>
    </DirectoryRef>
    <Feature Id="Berth" Title="{{x .Name}}" Level="1">
      <ComponentRef Id="c_integration"/>
{{- range .Components}}
      <ComponentRef Id="{{.}}"/>
{{- end}}
    </Feature>
  </Product>
</Wix>
{{define "dir"}}<Directory Id="{{.ID}}" Name="{{x .Name}}">
{{- range .Files}}
<Component Id="c_{{.ID}}" Guid="{{.Guid}}"><File Id="{{.ID}}" Name="{{x .Name}}" Source="{{x .Source}}" KeyPath="yes"/></Component>
{{- end}}
{{- range .Dirs}}
{{template "dir" .}}
{{- end}}
</Directory>{{end}}`))

// WXS is the package's WiX source, as wixl reads it.
func WXS(o Options) ([]byte, error) {
	if err := layout.CheckVersion(o.Version); err != nil {
		return nil, err
	}
	for name, v := range map[string]string{"berth.exe": o.Berth, "berth-tray.exe": o.Tray, "icon": o.Icon, "image directory": o.ImageDir} {
		if v == "" {
			return nil, fmt.Errorf("msi: no %s given", name)
		}
	}
	root, err := tree(o)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	err = wxsTemplate.Execute(&b, map[string]any{
		"Name": layout.Name, "Version": o.Version, "Vendor": layout.Vendor, "Summary": layout.Summary,
		"Homepage": layout.Homepage, "UpgradeCode": UpgradeCode, "Icon": o.Icon,
		"ProgramsDir": ProgramsDir, "Root": root, "Components": components(root),
		"IntegrationGuid": guid("integration"), "RegKey": RegKey, "RunKey": RunKey,
		"RunName": layout.AutostartName("windows"),
	})
	return b.Bytes(), err
}

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// EnvironmentTables are the IDT files (msibuild -i) of the PATH entry:
// "=-" sets the variable at install and takes the value out at
// uninstall; "[~];" appends to the user's PATH, keeping what is there.
func EnvironmentTables() map[string]string {
	return map[string]string{"Environment.idt": "Environment\tName\tValue\tComponent_\r\n" +
		"s72\tl255\tL255\ts72\r\n" +
		"Environment\tEnvironment\r\n" +
		"PATH\t=-PATH\t[~];[BINDIR]\tc_integration\r\n"}
}

// SequenceQueries schedule the environment actions at their standard
// places in InstallExecuteSequence.
func SequenceQueries() []string {
	return []string{
		"INSERT INTO `InstallExecuteSequence` (`Action`, `Sequence`) VALUES ('RemoveEnvironmentStrings', 3300)",
		"INSERT INTO `InstallExecuteSequence` (`Action`, `Sequence`) VALUES ('WriteEnvironmentStrings', 5200)",
	}
}
