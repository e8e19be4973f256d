package native

import "errors"

// ErrNoCgo says why a build has no tray (Available is false): the macOS
// status bar needs cgo.
var ErrNoCgo = errors.New("the tray was built without cgo: the macOS status bar needs it (build with CGO_ENABLED=1)")
