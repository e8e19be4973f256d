//go:build !windows

package store

// userSID is empty where endpoints are files: the directory is the user's.
func userSID() (string, error) { return "", nil }
