package initd

import (
	"bufio"
	"encoding/binary"
	"io"
	"strconv"
	"strings"
)

// Linux input event constants (linux/input-event-codes.h).
const (
	evKey    = 0x01
	keyPower = 116
)

// inputEventSize is sizeof(struct input_event): a struct timeval (two C
// longs) then type, code (u16) and value (s32).
const inputEventSize = 2*strconv.IntSize/8 + 8

// PowerPressed scans a stream of input events and returns nil at the first
// press of KEY_POWER, or the read error that ended the stream.
func PowerPressed(r io.Reader) error {
	buf := make([]byte, inputEventSize)
	for {
		if _, err := io.ReadFull(r, buf); err != nil {
			return err
		}
		if isPowerPress(buf) {
			return nil
		}
	}
}

func isPowerPress(ev []byte) bool {
	t := 2 * strconv.IntSize / 8
	typ := binary.NativeEndian.Uint16(ev[t:])
	code := binary.NativeEndian.Uint16(ev[t+2:])
	value := int32(binary.NativeEndian.Uint32(ev[t+4:]))
	return typ == evKey && code == keyPower && value == 1
}

// PowerButtonEvents reads /proc/bus/input/devices and returns the event
// device names (event0, ...) of the devices that can send KEY_POWER and
// whose name says "Power Button" (ACPI's, not a keyboard's power key).
func PowerButtonEvents(devices io.Reader) []string {
	var out []string
	var name string
	var handlers []string
	flush := func() {
		if strings.Contains(name, "Power Button") {
			for _, h := range handlers {
				if strings.HasPrefix(h, "event") {
					out = append(out, h)
				}
			}
		}
		name, handlers = "", nil
	}
	sc := bufio.NewScanner(devices)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			flush()
		case strings.HasPrefix(line, "N: Name="):
			name = strings.Trim(strings.TrimPrefix(line, "N: Name="), `"`)
		case strings.HasPrefix(line, "H: Handlers="):
			handlers = strings.Fields(strings.TrimPrefix(line, "H: Handlers="))
		}
	}
	flush()
	return out
}
