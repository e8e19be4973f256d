package hyperv

import (
	"fmt"

	"golang.org/x/sys/windows"
)

// available: Hyper-V machines run on Windows through the service.
func available() error { return nil }

// currentUserSID is this process's user, whom the service acts for.
func currentUserSID() (string, error) {
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return "", fmt.Errorf("this process's user: %w", err)
	}
	return u.User.Sid.String(), nil
}
