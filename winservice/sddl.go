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

// ServiceDirSDDL is the descriptor of the service's directories under
// %ProgramData% (the Windows engine's, the Hyper-V machines'): owned by
// SYSTEM, a protected DACL granting SYSTEM and Administrators everything
// and nobody else anything. %ProgramData% itself lets every user create a
// folder, which its creator then owns: one made before the service's
// would let that user swap the disks and files the service uses.
const ServiceDirSDDL = "O:SYD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"

// AdministratorsSID is the Administrators group's; with SYSTEM
// (SystemSID), the owners a service directory may already have.
const AdministratorsSID = "S-1-5-32-544"

// checkServiceDirOwner says whether an existing service directory can be
// taken over: only one that SYSTEM or Administrators own (made by the
// service, or by an installer). Another owner's is refused, naming it.
func checkServiceDirOwner(path, ownerSID string) error {
	if ownerSID == SystemSID || ownerSID == AdministratorsSID {
		return nil
	}
	return fmt.Errorf("%s exists and belongs to %s, not to SYSTEM or Administrators: the service does not use a directory another user could change; an administrator should remove it", path, ownerSID)
}
