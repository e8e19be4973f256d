package initd

import (
	"os"
	"strings"
	"time"
)

// watchPowerButton turns a press of the ACPI power button (QEMU's
// system_powerdown, a hypervisor's "shut down" request) into a clean
// shutdown: when the host agent is gone, the network is gone with it and
// ACPI is the only graceful way to stop the machine.
func (in *Init) watchPowerButton() {
	var events []string
	for range 20 { // the button's input device may register a moment after its module loads
		f, err := os.Open("/proc/bus/input/devices")
		if err == nil {
			events = PowerButtonEvents(f)
			f.Close()
		}
		if len(events) > 0 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if len(events) == 0 {
		in.warnf("no ACPI power button input device: an ACPI shutdown request will not stop the machine cleanly")
		return
	}
	for _, ev := range events {
		go func() {
			f, err := os.Open("/dev/input/" + ev)
			if err != nil {
				in.warnf("power button: %v", err)
				return
			}
			defer f.Close()
			if err := PowerPressed(f); err != nil {
				in.warnf("power button /dev/input/%s: %v", ev, err)
				return
			}
			in.Shutdown("ACPI power button (" + strings.TrimSpace(ev) + ")")
		}()
	}
}
