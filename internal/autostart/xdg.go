package autostart

import (
	"bufio"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// The Linux side: an XDG autostart entry, <dir>/<name>.desktop, which
// desktop sessions run at login (the XDG Autostart specification). A
// user's entry overrides a system-wide one of the same name in
// /etc/xdg/autostart, as the .deb installs. The functions take the
// directory, so they run and are tested on any OS.

func xdgFile(dir, name string) (string, error) {
	if name == "" || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		return "", fmt.Errorf("%q is not a file name", name)
	}
	return filepath.Join(dir, name+".desktop"), nil
}

// xdgEntry is the desktop entry that runs command (split as a POSIX
// shell would, nothing expanded).
func xdgEntry(name, command string) ([]byte, error) {
	args, err := splitCommand(command)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString("[Desktop Entry]\nType=Application\n")
	b.WriteString("Name=" + escapeValue(name) + "\n")
	b.WriteString("Exec=" + escapeValue(execLine(args)) + "\n")
	b.WriteString("Terminal=false\nNoDisplay=true\nX-GNOME-Autostart-enabled=true\n")
	return []byte(b.String()), nil
}

// execLine quotes args as the Exec key wants: an argument with a
// reserved character in double quotes, in which " ` $ \ are escaped by a
// backslash; % is doubled (field codes).
func execLine(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		a = strings.ReplaceAll(a, "%", "%%")
		if a != "" && !strings.ContainsAny(a, " \t\n\"'\\><~|&;$*?#()`") {
			q[i] = a
			continue
		}
		r := strings.NewReplacer(`"`, `\"`, "`", "\\`", `$`, `\$`, `\`, `\\`)
		q[i] = `"` + r.Replace(a) + `"`
	}
	return strings.Join(q, " ")
}

// parseExec reads an Exec value back into arguments.
func parseExec(s string) ([]string, error) {
	var args []string
	var word strings.Builder
	inArg, quoted := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted && c == '\\' && i+1 < len(s):
			i++
			word.WriteByte(s[i])
		case c == '"':
			quoted, inArg = !quoted, true
		case !quoted && c == ' ':
			if inArg {
				args = append(args, word.String())
				word.Reset()
				inArg = false
			}
		case c == '%' && i+1 < len(s) && s[i+1] == '%':
			i++
			word.WriteByte('%')
			inArg = true
		default:
			word.WriteByte(c)
			inArg = true
		}
	}
	if quoted {
		return nil, fmt.Errorf("the Exec value %q has an unclosed quote", s)
	}
	if inArg {
		args = append(args, word.String())
	}
	if len(args) == 0 {
		return nil, errors.New("the Exec key is empty")
	}
	return args, nil
}

// escapeValue escapes a desktop entry string value (\n, \t, \\).
func escapeValue(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\t", `\t`).Replace(s)
}

func unescapeValue(s string) string {
	return strings.NewReplacer(`\\`, `\`, `\n`, "\n", `\t`, "\t", `\s`, " ").Replace(s)
}

// xdgCommand reads the entry's Exec key back, quoted as splitCommand
// reads it.
func xdgCommand(data []byte) (string, error) {
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	group := ""
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			group = line
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok && group == "[Desktop Entry]" && strings.TrimSpace(k) == "Exec" {
			args, err := parseExec(unescapeValue(strings.TrimSpace(v)))
			if err != nil {
				return "", err
			}
			return joinCommand(args), nil
		}
	}
	return "", errors.New("the desktop entry has no Exec key")
}

// xdgFormat is the login item as an XDG autostart desktop entry.
var xdgFormat = entryFormat{file: xdgFile, render: xdgEntry, parse: xdgCommand}

func setXDG(dir, name, command string) error        { return xdgFormat.set(dir, name, command) }
func getXDG(dir, name string) (string, bool, error) { return xdgFormat.get(dir, name) }
func deleteXDG(dir, name string) error              { return xdgFormat.del(dir, name) }
