package qemu

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"
)

// QMP is spoken here by hand: the driver needs three commands (status,
// power button, quit), and the usual Go client (go-qemu) drags libvirt's RPC
// package along for them.

// qmpReply is one line from QEMU's monitor: a greeting, an event, a return
// value or an error.
type qmpReply struct {
	QMP    json.RawMessage `json:"QMP"`
	Event  string          `json:"event"`
	Data   json.RawMessage `json:"data"`
	Return json.RawMessage `json:"return"`
	Error  *struct {
		Class string `json:"class"`
		Desc  string `json:"desc"`
	} `json:"error"`
}

// qmpRun runs commands, in order, on a fresh connection and returns the
// last one's "return".
func qmpRun(sock string, commands ...string) (json.RawMessage, error) {
	conn, err := net.DialTimeout("unix", sock, 2*time.Second)
	if err != nil {
		return nil, fmt.Errorf("connecting to QEMU's monitor: %w", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(conn)
	if _, err := qmpRead(r); err != nil { // greeting
		return nil, err
	}
	if _, err := qmpExec(conn, r, "qmp_capabilities"); err != nil {
		return nil, err
	}
	var out json.RawMessage
	for _, c := range commands {
		if out, err = qmpExec(conn, r, c); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func qmpExec(conn net.Conn, r *bufio.Reader, command string) (json.RawMessage, error) {
	if _, err := fmt.Fprintf(conn, "{\"execute\":%q}\n", command); err != nil {
		return nil, fmt.Errorf("QMP %s: %w", command, err)
	}
	for {
		rep, err := qmpRead(r)
		if err != nil {
			return nil, fmt.Errorf("QMP %s: %w", command, err)
		}
		switch {
		case rep.Error != nil:
			return nil, fmt.Errorf("QMP %s: %s: %s", command, rep.Error.Class, rep.Error.Desc)
		case rep.Return != nil:
			return rep.Return, nil
		}
		// An asynchronous event: not ours, read on.
	}
}

func qmpRead(r *bufio.Reader) (qmpReply, error) {
	line, err := r.ReadBytes('\n')
	if err != nil {
		return qmpReply{}, err
	}
	var rep qmpReply
	if err := json.Unmarshal(line, &rep); err != nil {
		return qmpReply{}, fmt.Errorf("parsing QMP reply %q: %w", line, err)
	}
	if rep.QMP == nil && rep.Event == "" && rep.Return == nil && rep.Error == nil {
		return qmpReply{}, errors.New("empty QMP reply")
	}
	return rep, nil
}

// runState runs a command (stop, cont) and returns the run state it led
// to, on one monitor connection: a resume is on the path of the request
// that woke the VM.
func runState(sock, command string) (string, error) {
	out, err := qmpRun(sock, command, "query-status")
	if err != nil {
		return "", err
	}
	return parseStatus(out)
}

// qmpCommand runs a command whose result does not matter.
func qmpCommand(sock, command string) error {
	_, err := qmpRun(sock, command)
	return err
}

// queryStatus returns the VM's run state ("running", "internal-error", ...).
func queryStatus(sock string) (string, error) {
	out, err := qmpRun(sock, "query-status")
	if err != nil {
		return "", err
	}
	return parseStatus(out)
}

func parseStatus(out json.RawMessage) (string, error) {
	var st struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(out, &st); err != nil {
		return "", fmt.Errorf("parsing query-status: %w", err)
	}
	return st.Status, nil
}
