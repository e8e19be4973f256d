package sockets

import "fmt"

// pipeSDDL is the security descriptor of the agent's pipe: a protected DACL
// (no inherited entries) that grants generic-all to the owner's SID and to
// SYSTEM, and to nobody else - not even Administrators.
func pipeSDDL(ownerSID string) string {
	return fmt.Sprintf("D:P(A;;GA;;;%s)(A;;GA;;;SY)", ownerSID)
}
