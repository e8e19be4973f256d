// Package initd is the guest's PID 1: it boots from the initramfs into the
// read-only root disk (stage 1), brings the machine up, runs and supervises
// containerd and dockerd, answers the guest agent API and powers the machine
// off cleanly (stage 2).
//
// The decisions (what a data disk holds, what daemon.json says, when to
// restart a daemon, which process an exit status belongs to, what an input
// event means) live in portable files with unit tests; the system calls live
// in *_linux.go files.
package initd
