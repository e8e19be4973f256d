//go:build windows

package sockets

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unsafe"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"

	"github.com/berth-dev/berth/internal/wine"
)

// The SIDs the pipe's DACL may name: the user who runs the agent, and
// SYSTEM (which can read any object anyway). Nobody else, Administrators
// included.
const sidSystem = "S-1-5-18"

// userRights is what the owner must be able to do on the pipe: connect,
// read and write. GA (generic all) is stored either as is or mapped to the
// file rights it stands for.
const userRights = windows.FILE_GENERIC_READ | windows.FILE_GENERIC_WRITE

// TestPipeSDDL creates the agent's pipe through Listen, opens it as a
// client, reads the security descriptor back from that handle and checks
// that only the current user and SYSTEM have access. The same check must
// refuse pipes made with looser descriptors, or it proves nothing.
//
// Under Wine (make test-windows) this reads what Wine's server stored for
// the pipe, which is the descriptor given at creation; that Windows
// enforces it against another user, and what an elevated token's default
// owner does to it, needs a Windows machine.
func TestPipeSDDL(t *testing.T) {
	user, err := UserSID()
	if err != nil {
		t.Fatal(err)
	}
	path := testPipeName(t)
	l, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	sd := pipeSecurity(t, path)
	t.Logf("the agent's pipe: %s (Wine: %v)", sd, wine.Detected())
	if err := checkOwnerOnly(sd, user); err != nil {
		t.Fatalf("the agent's pipe: %v", err)
	}

	// Each too-open descriptor names the user as owner, so that it is
	// refused for its DACL alone.
	o := "O:" + user
	cases := map[string]string{
		"everyone":        fmt.Sprintf("%sD:P(A;;GA;;;%s)(A;;GA;;;SY)(A;;GA;;;WD)", o, user),
		"administrators":  fmt.Sprintf("%sD:P(A;;GA;;;%s)(A;;GA;;;SY)(A;;GA;;;BA)", o, user),
		"everyone reads":  fmt.Sprintf("%sD:P(A;;GA;;;%s)(A;;GR;;;WD)", o, user),
		"null DACL":       o + "D:NO_ACCESS_CONTROL",
		"no user access":  o + "D:P(A;;GA;;;SY)(A;;GR;;;" + user + ")",
		"authenticated":   fmt.Sprintf("%sD:P(A;;GA;;;%s)(A;;GRGW;;;AU)", o, user),
		"not protected":   fmt.Sprintf("%sD:(A;;GA;;;%s)(A;;GA;;;SY)", o, user),
		"another account": fmt.Sprintf("%sD:P(A;;GA;;;%s)(A;;GA;;;S-1-5-21-1-2-3-1001)", o, user),
	}
	// Without an owner the pipe gets the token's default owner. Only where
	// that is not the user (Wine; an elevated administrator) can the check
	// be seen to refuse it.
	if owner := tokenOwnerSID(t); owner != user {
		cases["default owner "+owner] = fmt.Sprintf("D:P(A;;GA;;;%s)(A;;GA;;;SY)", user)
	} else {
		t.Logf("the token's default owner is the user: the owner check is seen to pass only")
	}
	for name, sddl := range cases {
		t.Run(name, func(t *testing.T) {
			path := testPipeName(t)
			l, err := winio.ListenPipe(path, &winio.PipeConfig{SecurityDescriptor: sddl})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			sd := pipeSecurity(t, path)
			err = checkOwnerOnly(sd, user)
			if err == nil {
				t.Fatalf("a pipe made with %s passed the owner-only check; read back as %s", sddl, sd)
			}
			t.Logf("%s → %s: refused: %v", sddl, sd, err)
		})
	}
}

// pipeSecurity opens path as a client with only READ_CONTROL and returns
// the pipe's owner and DACL as the system reports them.
func pipeSecurity(t *testing.T, path string) *windows.SECURITY_DESCRIPTOR {
	t.Helper()
	name, err := windows.UTF16PtrFromString(path)
	if err != nil {
		t.Fatal(err)
	}
	h, err := windows.CreateFile(name, windows.READ_CONTROL, 0, nil, windows.OPEN_EXISTING, 0, 0)
	if err != nil {
		t.Fatalf("opening %s for READ_CONTROL: %v", path, err)
	}
	defer windows.CloseHandle(h)
	sd, err := windows.GetSecurityInfo(h, windows.SE_KERNEL_OBJECT,
		windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		t.Fatalf("GetSecurityInfo on %s: %v", path, err)
	}
	return sd
}

// checkOwnerOnly returns why sd lets anyone but user (and SYSTEM) at the
// pipe, or lets user do too little; nil if it does neither. The owner must
// be the user: an owner may always rewrite the DACL.
func checkOwnerOnly(sd *windows.SECURITY_DESCRIPTOR, user string) error {
	o, _, err := sd.Owner()
	if err != nil {
		return fmt.Errorf("no owner: %w", err)
	}
	if o == nil {
		return errors.New("no owner")
	}
	if o.String() != user {
		return fmt.Errorf("owner %s, not the user %s", o, user)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return fmt.Errorf("reading the DACL: %w", err)
	}
	if dacl == nil {
		return fmt.Errorf("null DACL: everyone has full access")
	}
	control, _, err := sd.Control()
	if err != nil {
		return err
	}
	if control&windows.SE_DACL_PROTECTED == 0 {
		return fmt.Errorf("DACL not protected: it would take entries inherited from the pipe's parent")
	}
	var problems []string
	var userMask windows.ACCESS_MASK
	for i := range uint32(dacl.AceCount) {
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, i, &ace); err != nil {
			return fmt.Errorf("ACE %d: %w", i, err)
		}
		sid := (*windows.SID)(unsafe.Pointer(&ace.SidStart)).String()
		switch {
		case ace.Header.AceType != windows.ACCESS_ALLOWED_ACE_TYPE:
			// A deny entry takes nothing away from the check below.
		case sid == user:
			userMask |= ace.Mask
		case sid == sidSystem:
		default:
			problems = append(problems, fmt.Sprintf("%s is allowed %#x", sid, uint32(ace.Mask)))
		}
	}
	if userMask&windows.GENERIC_ALL == 0 && userMask&userRights != userRights {
		problems = append(problems, fmt.Sprintf("the user %s is allowed only %#x", user, uint32(userMask)))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return nil
}

// tokenOwnerSID is the owner this process's token gives the objects it
// creates: the user, or Administrators for an elevated administrator.
func tokenOwnerSID(t *testing.T) string {
	t.Helper()
	tok := windows.GetCurrentProcessToken()
	n := uint32(64)
	for {
		b := make([]byte, n)
		err := windows.GetTokenInformation(tok, windows.TokenOwner, &b[0], n, &n)
		if err == nil {
			return (*struct{ Owner *windows.SID })(unsafe.Pointer(&b[0])).Owner.String()
		}
		if !errors.Is(err, windows.ERROR_INSUFFICIENT_BUFFER) {
			t.Fatalf("reading the token's owner: %v", err)
		}
	}
}
