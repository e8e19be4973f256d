package initd

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func event(typ, code uint16, value int32) []byte {
	b := make([]byte, inputEventSize)
	t := 2 * strconv.IntSize / 8
	binary.NativeEndian.PutUint16(b[t:], typ)
	binary.NativeEndian.PutUint16(b[t+2:], code)
	binary.NativeEndian.PutUint32(b[t+4:], uint32(value))
	return b
}

func TestPowerPressed(t *testing.T) {
	var stream bytes.Buffer
	stream.Write(event(evKey, 30, 1))       // KEY_A
	stream.Write(event(0, 0, 0))            // SYN_REPORT
	stream.Write(event(evKey, keyPower, 0)) // a release alone is not a press
	stream.Write(event(evKey, keyPower, 1))
	if err := PowerPressed(&stream); err != nil {
		t.Fatal(err)
	}
	var none bytes.Buffer
	none.Write(event(evKey, 30, 1))
	none.Write(event(evKey, keyPower, 2)[:10]) // torn
	if err := PowerPressed(&none); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v, want ErrUnexpectedEOF", err)
	}
}

const procBusInputDevices = `I: Bus=0019 Vendor=0000 Product=0001 Version=0000
N: Name="Power Button"
P: Phys=LNXPWRBN/button/input0
S: Sysfs=/devices/LNXSYSTM:00/LNXPWRBN:00/input/input0
U: Uniq=
H: Handlers=kbd event0 
B: PROP=0
B: EV=3
B: KEY=10000000000000 0

I: Bus=0011 Vendor=0001 Product=0001 Version=ab41
N: Name="AT Translated Set 2 keyboard"
P: Phys=isa0060/serio0/input0
H: Handlers=sysrq kbd event1 leds 
B: EV=120013

I: Bus=0019 Vendor=0000 Product=0001 Version=0000
N: Name="Power Button"
H: Handlers=kbd event3
`

func TestPowerButtonEvents(t *testing.T) {
	got := PowerButtonEvents(strings.NewReader(procBusInputDevices))
	if want := []string{"event0", "event3"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}
