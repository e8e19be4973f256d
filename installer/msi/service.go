package msi

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"text/template"

	"github.com/berth-dev/berth/installer/layout"
	"github.com/berth-dev/berth/kernel"
)

// The per-machine package of berth-service (README "Windows containers"):
// separate from the per-user MSI, because it needs elevation and only the
// Windows containers engine and the Hyper-V machine need it. It installs
// %ProgramFiles%\Berth\service\berth-service.exe, registers the service
// (LocalSystem, automatic start, started at install, stopped and removed
// at uninstall) with the installing user as its principal
// (-principal "[LogonUser]": whoever runs msiexec; with UAC's elevation that
// is still the signed-in user), and the service's event log source.

// ServiceUpgradeCode ties every version of the service package together:
// never change it.
const ServiceUpgradeCode = "7C1D5E0B-3F2A-4D8E-9B61-2A4C8E0F5D13"

// ServiceName is the Windows service's name (winservice's event source too).
const ServiceName = "berth-service"

// EventLogKey is the service's event log source under HKLM.
const EventLogKey = `SYSTEM\CurrentControlSet\Services\EventLog\Application\` + ServiceName

// ServiceOptions describe the service package.
type ServiceOptions struct {
	Version string // MAJOR.MINOR.PATCH
	Service string // berth-service.exe
	License string // a license text file, or ""
	// ImageDir is the amd64 guest image, of which the package holds what
	// the Hyper-V machine boots (ServiceImageFiles) in
	// service\image\amd64, where only administrators may change it.
	ImageDir string
}

// ServiceImageFiles are the guest image's files the service boots.
var ServiceImageFiles = []string{kernel.KernelFile, kernel.InitramfsFile, kernel.RootfsFile}

// ServiceFileName is the service package's conventional name.
func ServiceFileName(version string) string {
	return fmt.Sprintf("berth-service-%s-x64.msi", version)
}

var serviceTemplate = template.Must(template.New("svc").Funcs(template.FuncMap{"x": xmlEscape}).Parse(`<?xml version="1.0" encoding="utf-8"?>
<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">
  <Product Id="*" Name="{{x .Name}} service" Language="1033" Version="{{x .Version}}" Manufacturer="{{x .Vendor}}" UpgradeCode="{{.UpgradeCode}}">
    <Package InstallerVersion="500" Compressed="yes" InstallScope="perMachine" Description="{{x .Name}}: Windows containers and the Hyper-V machine (administrator)" Manufacturer="{{x .Vendor}}"/>
    <Property Id="ARPNOMODIFY" Value="1"/>
    <MajorUpgrade DowngradeErrorMessage="A newer version of the Berth service is already installed."/>
    <Media Id="1" Cabinet="service.cab" EmbedCab="yes"/>
    <Directory Id="TARGETDIR" Name="SourceDir">
      <Directory Id="ProgramFiles64Folder">
        <Directory Id="INSTALLDIR" Name="{{x .Name}}">
          <Directory Id="SERVICEDIR" Name="service">
            <Component Id="c_service" Guid="{{.ServiceGuid}}" Win64="yes">
              <File Id="berth_service.exe" Name="berth-service.exe" Source="{{x .Service}}" KeyPath="yes"/>
              <ServiceInstall Id="berth_service" Name="{{.ServiceName}}" DisplayName="{{x .Name}} service" Description="Runs the Windows containers engine and the Hyper-V machine for the user who installed it" Type="ownProcess" Start="auto" ErrorControl="normal" Account="LocalSystem" Arguments="-principal &quot;[LogonUser]&quot;"/>
              <ServiceControl Id="berth_service" Name="{{.ServiceName}}" Start="install" Stop="both" Remove="uninstall" Wait="yes"/>
              <RegistryValue Root="HKLM" Key="{{x .EventLogKey}}" Name="EventMessageFile" Type="string" Value="[System64Folder]EventCreate.exe"/>
              <RegistryValue Root="HKLM" Key="{{x .EventLogKey}}" Name="TypesSupported" Type="integer" Value="7"/>
            </Component>
            <Directory Id="SVCIMAGEDIR" Name="image">
              <Directory Id="SVCIMAGEAMD64DIR" Name="amd64">
{{- range .Image}}
                <Component Id="{{.ID}}" Guid="{{.Guid}}" Win64="yes">
                  <File Id="{{.ID}}" Name="{{x .Name}}" Source="{{x .Source}}" KeyPath="yes"/>
                </Component>
{{- end}}
              </Directory>
            </Directory>
{{- if .License}}
            <Component Id="c_license" Guid="{{.LicenseGuid}}" Win64="yes">
              <File Id="LICENSE" Name="LICENSE.txt" Source="{{x .License}}" KeyPath="yes"/>
            </Component>
{{- end}}
          </Directory>
        </Directory>
      </Directory>
    </Directory>
    <Feature Id="Service" Title="{{x .Name}} service" Level="1">
      <ComponentRef Id="c_service"/>
{{- range .Image}}
      <ComponentRef Id="{{.ID}}"/>
{{- end}}
{{- if .License}}
      <ComponentRef Id="c_license"/>
{{- end}}
    </Feature>
  </Product>
</Wix>
`))

// ServiceWXS is the service package's WiX source.
func ServiceWXS(o ServiceOptions) ([]byte, error) {
	if err := layout.CheckVersion(o.Version); err != nil {
		return nil, err
	}
	if o.Service == "" {
		return nil, fmt.Errorf("msi: no berth-service.exe given")
	}
	if o.ImageDir == "" {
		return nil, fmt.Errorf("msi: no guest image directory given for the service's Hyper-V machine")
	}
	type file struct{ ID, Guid, Name, Source string }
	var image []file
	for i, name := range ServiceImageFiles {
		rel := "service/image/amd64/" + name
		image = append(image, file{ID: fmt.Sprintf("svc_image_%d", i), Guid: guid(rel), Name: name, Source: filepath.Join(o.ImageDir, name)})
	}
	var b bytes.Buffer
	err := serviceTemplate.Execute(&b, map[string]any{
		"Name": layout.Name, "Version": o.Version, "Vendor": layout.Vendor, "UpgradeCode": ServiceUpgradeCode,
		"Service": o.Service, "License": o.License, "ServiceName": ServiceName, "EventLogKey": EventLogKey,
		"Image": image, "ServiceGuid": guid("service/berth-service.exe"), "LicenseGuid": guid("service/LICENSE.txt"),
	})
	return b.Bytes(), err
}

// BuildService writes the service package's WiX source into work and
// compiles it with wixl into out (through a temporary file).
func BuildService(ctx context.Context, o ServiceOptions, work, out string) error {
	work, err := relativeTo(work, &o.Service, &o.License, &o.ImageDir)
	if err != nil {
		return err
	}
	src, err := ServiceWXS(o)
	if err != nil {
		return err
	}
	return compile(ctx, work, "berth-service.wxs", src, out, nil)
}
