package winservice

import "fmt"

// ServiceSDDL is the control pipe's security descriptor: a protected DACL
// (nothing inherited) granting SYSTEM everything and the principal (the
// installing user's SID, or its group's) read and write, which is what
// opening the pipe as a client takes; nobody else, not even
// Administrators, may open it. The owner is the service's token's default
// (SYSTEM for LocalSystem).
func ServiceSDDL(principalSID string) string {
	return fmt.Sprintf("D:P(A;;GA;;;SY)(A;;GRGW;;;%s)", principalSID)
}
