package winservice

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/windows"
)

// SecureServiceDir makes dir (and its missing parents below %ProgramData%)
// as SYSTEM's, with ServiceDirSDDL, or takes over an existing one that
// SYSTEM or Administrators own, resetting its DACL to ServiceDirSDDL's;
// one owned by anybody else is refused (checkServiceDirOwner).
func SecureServiceDir(dir string) error {
	sd, err := windows.SecurityDescriptorFromString(ServiceDirSDDL)
	if err != nil {
		return err
	}
	if parent := filepath.Dir(dir); parent != dir && filepath.Base(parent) == "Berth" {
		if err := secureOne(parent, sd); err != nil {
			return err
		}
	}
	return secureOne(dir, sd)
}

func secureOne(dir string, sd *windows.SECURITY_DESCRIPTOR) error {
	p, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return err
	}
	sa := &windows.SecurityAttributes{Length: uint32(unsafe.Sizeof(windows.SecurityAttributes{})), SecurityDescriptor: sd}
	err = windows.CreateDirectory(p, sa)
	if err == nil {
		return nil
	}
	if !errors.Is(err, windows.ERROR_ALREADY_EXISTS) {
		return fmt.Errorf("making %s: %w", dir, err)
	}
	if fi, err := os.Lstat(dir); err != nil || !fi.IsDir() || fi.Mode()&os.ModeSymlink != 0 {
		return fmt.Errorf("%s exists and is not a plain directory", dir)
	}
	cur, err := windows.GetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT, windows.OWNER_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("reading the owner of %s: %w", dir, err)
	}
	owner, _, err := cur.Owner()
	if err != nil {
		return fmt.Errorf("reading the owner of %s: %w", dir, err)
	}
	if err := checkServiceDirOwner(dir, owner.String()); err != nil {
		return err
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return err
	}
	if err := windows.SetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil); err != nil {
		return fmt.Errorf("setting the access of %s: %w", dir, err)
	}
	return nil
}
