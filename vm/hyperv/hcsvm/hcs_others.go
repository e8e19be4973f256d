//go:build !windows

package hcsvm

import (
	"context"
	"errors"
)

// errWindowsOnly: HCS and virtdisk exist on Windows only.
var errWindowsOnly = errors.New("the Hyper-V machine runs on Windows only (the Host Compute Service is a Windows feature)")

type noHCS struct{}

func newComputeService() computeService { return noHCS{} }

func (noHCS) Create(context.Context, string, string) error { return errWindowsOnly }
func (noHCS) Start(context.Context, string) error          { return errWindowsOnly }
func (noHCS) Shutdown(context.Context, string) error       { return errWindowsOnly }
func (noHCS) Terminate(context.Context, string) error      { return errWindowsOnly }
func (noHCS) Close(context.Context, string) error          { return errWindowsOnly }
func (noHCS) Properties(context.Context, string) (systemProperties, error) {
	return systemProperties{}, errWindowsOnly
}

type noVirtdisk struct{}

func newDiskMaker() diskMaker { return noVirtdisk{} }

func (noVirtdisk) CreateVHDX(string, int) error         { return errWindowsOnly }
func (noVirtdisk) SizeVHDX(path string) (uint64, error) { return vhdxFileSize(path) }
func (noVirtdisk) ResizeVHDX(string, int) error         { return errWindowsOnly }
