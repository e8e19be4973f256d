// Package initd is the guest's PID 1: it boots from the initramfs into the
// read-only root disk (stage 1), brings the machine up, runs and supervises
// containerd and dockerd, answers the guest agent API and powers the machine
// off cleanly (stage 2).
//
// Stage 1 (initramfs): print guestconfig.MarkerInitStarted, mount /proc,
// /sys and devtmpfs, read guestconfig.Path, load /modules in /modules/order
// (/modules/order.hyperv when the config's root disk is SCSI: a Hyper-V
// VM), mount the root disk (/dev/vda; /dev/sda on Hyper-V) read-only under
// a tmpfs overlay, move /proc /sys /dev into
// it, delete the initramfs's files and switch root (MS_MOVE + chroot) in the
// same process.
//
// Stage 2: system mounts, clock, hostname, one modprobe for config.Modules,
// eth0 (the virtio card, or with config.Link a tap carrying the link's
// frames from an AF_VSOCK port, as in WSL mode) with one `ip -batch`, the firewall with one `iptables-restore`, the
// data disk in parallel with the network, then the guest agent API and the
// engine. Every error is recorded for /v1/health and the console; only an
// error that leaves no way to report it (no root disk, no config) powers
// the machine off, after a guestconfig.MarkerInitFailed line.
//
// WSL mode (`berth-init --wsl`, MainWSL): in a WSL2 distro Microsoft's
// /init is PID 1 and the kernel is Microsoft's. The init, started by the
// host through wsl.exe with the config on its standard input, opens the
// network link's listener (the AF_VSOCK port of --link vsock:PORT, by
// default guestconfig.LinkVsockPort, or a unix socket with --link
// unix:PATH), then runs itself again as PID 1 of a
// PID, mount and network namespace of its own, mounts what the engine
// needs (a new /proc, /sys and /run, cgroup v2 where the distro has none),
// creates eth0 as a tap and carries frames between it and the host agent's
// switch (link.go: one link at a time, the next when it drops), and from
// there sets up the network, the firewall and the listeners as in the VM.
// It keeps the engine's state on the distro's own disk, formats no disk and
// loads no module; at shutdown it exits, and the namespaces take what is
// left with them.
//
// Decisions worth knowing:
//   - The data disk is formatted only when its first MiB is zeros and no
//     backup ext4 superblock exists; anything else is checked (ext4) or
//     refused with the exact reason, never formatted.
//   - A 64 MiB reserve file on the data disk is released when the disk is
//     full, so dockerd (whose storage-driver probe writes to the disk) still
//     starts and the user can prune.
//   - One reaper calls wait for the whole system; children the init runs
//     itself are registered under the reaper's lock at fork time, so their
//     exits are never taken as orphans'.
//   - dockerd runs with --tls=false: without an explicit choice it sleeps
//     15 s to warn about a plain TCP socket, which only the host agent can
//     reach through the firewall anyway.
//
// The decisions live in portable files with unit tests; the system calls
// live in *_linux.go files. The init in the real VM is tested by the
// end-to-end suite (e2e/, `make test-e2e`): boots, the data disk's blank,
// damaged, foreign and full states, growth, and stops.
package initd
