package atomicfile

import (
	"os"
	"time"
)

// rename retries briefly: a reader holding the file open makes the
// replace fail for a moment (a sharing violation).
func rename(from, to string) error {
	var err error
	for range 20 {
		if err = os.Rename(from, to); err == nil {
			return nil
		}
		time.Sleep(25 * time.Millisecond)
	}
	return err
}

// syncDir: Windows cannot open a directory to sync it; NTFS journals the
// rename.
func syncDir(string) error { return nil }
