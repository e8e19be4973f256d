// Command netprobe is the end-to-end suite's in-container network helper
// (busybox has no UDP server and no throughput tool):
//
//	netprobe udp-echo ADDR   answer every datagram with "echo:" + datagram
//	netprobe tcp-bench ADDR  per connection, a first byte 'u' makes it read
//	                         until EOF and answer the byte count (8 bytes,
//	                         big-endian); 'd' + 8-byte N makes it send N bytes
package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"net"
	"os"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: netprobe udp-echo|tcp-bench ADDR")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "udp-echo":
		err = udpEcho(os.Args[2])
	case "tcp-bench":
		err = tcpBench(os.Args[2])
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "netprobe:", err)
		os.Exit(1)
	}
}

func udpEcho(addr string) error {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return err
	}
	buf := make([]byte, 65536)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return err
		}
		_, _ = pc.WriteTo(append([]byte("echo:"), buf[:n]...), from)
	}
}

func tcpBench(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go serveBench(c)
	}
}

func serveBench(c net.Conn) {
	defer c.Close()
	r := bufio.NewReaderSize(c, 256<<10)
	op, err := r.ReadByte()
	if err != nil {
		return
	}
	switch op {
	case 'u':
		// Read in large blocks, as iperf does: io.Copy to io.Discard
		// would read 8 KiB per call, and under emulation the probe's
		// system calls, not the network, would set the pace.
		buf := make([]byte, 256<<10)
		var n uint64
		for {
			k, err := r.Read(buf)
			n += uint64(k)
			if err != nil {
				break
			}
		}
		_ = binary.Write(c, binary.BigEndian, n)
	case 'd':
		var n uint64
		if binary.Read(r, binary.BigEndian, &n) != nil {
			return
		}
		buf := make([]byte, 256<<10)
		for n > 0 {
			k := uint64(len(buf))
			if n < k {
				k = n
			}
			if _, err := c.Write(buf[:k]); err != nil {
				return
			}
			n -= k
		}
	}
}
