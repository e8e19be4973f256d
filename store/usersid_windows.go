package store

import "github.com/berth-dev/berth/internal/sockets"

// userSID is the SID of the user this process runs as.
func userSID() (string, error) { return sockets.UserSID() }
