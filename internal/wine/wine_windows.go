package wine

import "golang.org/x/sys/windows"

// detected looks for the export Wine adds to ntdll; Windows has none.
func detected() bool {
	return windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
}
