package winservice

import "github.com/berth-dev/berth/vm/hyperv"

// connectService is the Hyper-V driver's way to berth-service: the control
// pipe, dialed for each request (the service reads the caller from it).
var connectService = func() (hyperv.Manager, error) {
	return &Client{Dial: DialService}, nil
}
