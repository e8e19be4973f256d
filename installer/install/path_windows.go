package install

import (
	"errors"

	"golang.org/x/sys/windows/registry"
)

// The user's PATH: the Path value of HKCU\Environment (REG_EXPAND_SZ),
// read by new logons and by programs started after Explorer reloads it.
const envKey = `Environment`

func userPath() (string, uint32, error) {
	k, err := registry.OpenKey(registry.CURRENT_USER, envKey, registry.QUERY_VALUE)
	if errors.Is(err, registry.ErrNotExist) {
		return "", registry.EXPAND_SZ, nil
	}
	if err != nil {
		return "", registry.EXPAND_SZ, err
	}
	defer k.Close() //nolint:errcheck
	v, typ, err := k.GetStringValue("Path")
	if errors.Is(err, registry.ErrNotExist) {
		return "", registry.EXPAND_SZ, nil
	}
	return v, typ, err
}

func setUserPath(v string, typ uint32) error {
	k, _, err := registry.CreateKey(registry.CURRENT_USER, envKey, registry.SET_VALUE)
	if err != nil {
		return err
	}
	defer k.Close() //nolint:errcheck
	if typ == registry.SZ {
		return k.SetStringValue("Path", v)
	}
	return k.SetExpandStringValue("Path", v)
}

func addUserPath(dir string) error {
	cur, typ, err := userPath()
	if err != nil {
		return err
	}
	if v, changed := AddPathEntry("windows", cur, dir); changed {
		return setUserPath(v, typ)
	}
	return nil
}

func removeUserPath(dir string) (bool, error) {
	cur, typ, err := userPath()
	if err != nil {
		return false, err
	}
	v, changed := RemovePathEntry("windows", cur, dir)
	if !changed {
		return false, nil
	}
	return true, setUserPath(v, typ)
}
