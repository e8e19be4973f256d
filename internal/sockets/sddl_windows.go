package sockets

import "fmt"

// pipeSDDL is the security descriptor of the agent's pipe: the user as its
// owner, and a protected DACL (no inherited entries) that grants
// generic-all to the user and to SYSTEM, and to nobody else - not even
// Administrators. The owner is named because an owner may always rewrite
// the DACL, and a token's default owner need not be its user: Wine gives a
// group (S-1-5-21-…-513), an elevated Windows administrator gives
// Administrators.
func pipeSDDL(userSID string) string {
	return fmt.Sprintf("O:%sD:P(A;;GA;;;%s)(A;;GA;;;SY)", userSID, userSID)
}
