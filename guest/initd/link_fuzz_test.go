package initd

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
)

// FuzzLinkFrames: any stream on the guest's network link reads as whole
// Ethernet frames that write back to exactly its bytes, then ends with a
// clear error: EOF at a frame boundary, a cut frame, or a length no
// switch sends (the link then ends instead of reading out of step).
func FuzzLinkFrames(f *testing.F) {
	var seed bytes.Buffer
	seed.Write(frame(bytes.Repeat([]byte{0xff}, 60)))
	seed.Write(frame(nil))
	f.Add(seed.Bytes())
	f.Add(frame([]byte("truncated"))[:8])
	f.Add([]byte{0, 1, 0, 18})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	buf := make([]byte, maxFrame)
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bytes.NewReader(in)
		var again bytes.Buffer
		for {
			fr, err := readFrame(r, buf)
			if err != nil {
				switch {
				case errors.Is(err, io.EOF):
					if again.Len() != len(in) {
						t.Fatalf("EOF with %d of %d bytes read as frames", again.Len(), len(in))
					}
				case errors.Is(err, io.ErrUnexpectedEOF):
				case strings.Contains(err.Error(), "framing"):
					if n := binary.BigEndian.Uint32(in[again.Len():]); n <= maxFrame {
						t.Fatalf("a frame of %d bytes refused", n)
					}
				default:
					t.Fatalf("error %v", err)
				}
				if !bytes.HasPrefix(in, again.Bytes()) {
					t.Fatal("the frames read do not write back to the stream")
				}
				return
			}
			again.Write(frame(fr))
		}
	})
}
