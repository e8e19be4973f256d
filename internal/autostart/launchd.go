package autostart

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/berth-dev/berth/internal/plist"
)

// The macOS side: a launchd agent, ~/Library/LaunchAgents/<name>.plist,
// that launchd loads at the user's next login and runs at once
// (RunAtLoad). The functions here take the directory, so they run and are
// tested on any OS; autostart_darwin.go only names the directory.

// launchAgentFile is the agent's file for name in dir; name is also its
// launchd label, so it must be one (reverse-DNS style: letters, digits,
// '.', '-', '_').
func launchAgentFile(dir, name string) (string, error) {
	if name == "" || strings.HasPrefix(name, ".") || strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") != "" {
		return "", fmt.Errorf("%q is not a launchd label (letters, digits, '.', '-', '_')", name)
	}
	return filepath.Join(dir, name+".plist"), nil
}

// launchAgent is the agent's plist: command split into ProgramArguments
// (launchd runs no shell).
func launchAgent(name, command string) ([]byte, error) {
	args, err := splitCommand(command)
	if err != nil {
		return nil, err
	}
	return plist.Marshal(plist.Dict{
		"Label":            name,
		"ProgramArguments": args,
		"RunAtLoad":        true,
	})
}

// launchAgentCommand reads an agent's command line back, quoted as
// splitCommand reads it.
func launchAgentCommand(data []byte) (string, error) {
	d, err := plist.Unmarshal(data)
	if err != nil {
		return "", err
	}
	args, ok := d["ProgramArguments"].([]string)
	if !ok || len(args) == 0 {
		return "", errors.New("the launchd agent has no ProgramArguments")
	}
	return joinCommand(args), nil
}

// splitCommand splits a command line into words as a POSIX shell would,
// without expanding anything: blanks separate words; '...' is literal;
// in "..." a backslash escapes \ " $ ` only; elsewhere a backslash
// escapes the next character.
func splitCommand(command string) ([]string, error) {
	var (
		args  []string
		word  strings.Builder
		inArg bool
		quote rune // 0, '\'' or '"'
	)
	runes := []rune(command)
	for i := 0; i < len(runes); i++ {
		c := runes[i]
		switch {
		case quote == '\'':
			if c == '\'' {
				quote = 0
			} else {
				word.WriteRune(c)
			}
		case quote == '"':
			switch {
			case c == '"':
				quote = 0
			case c == '\\' && i+1 < len(runes) && strings.ContainsRune(`\"$`+"`", runes[i+1]):
				i++
				word.WriteRune(runes[i])
			default:
				word.WriteRune(c)
			}
		case c == ' ' || c == '\t' || c == '\n':
			if inArg {
				args = append(args, word.String())
				word.Reset()
				inArg = false
			}
		case c == '\'' || c == '"':
			quote, inArg = c, true
		case c == '\\':
			if i+1 == len(runes) {
				return nil, fmt.Errorf("command %q ends in a backslash", command)
			}
			i++
			word.WriteRune(runes[i])
			inArg = true
		default:
			word.WriteRune(c)
			inArg = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("command %q has an unclosed %c", command, quote)
	}
	if inArg {
		args = append(args, word.String())
	}
	if len(args) == 0 {
		return nil, errors.New("the command is empty")
	}
	return args, nil
}

// joinCommand quotes args so that splitCommand reads them back: a word of
// safe characters as it is, any other in single quotes.
func joinCommand(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-") == "" {
			quoted[i] = a
		} else {
			quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(quoted, " ")
}

// launchdFormat is the login item as a launchd agent plist.
var launchdFormat = entryFormat{file: launchAgentFile, render: launchAgent, parse: launchAgentCommand}

func setLaunchAgent(dir, name, command string) error        { return launchdFormat.set(dir, name, command) }
func getLaunchAgent(dir, name string) (string, bool, error) { return launchdFormat.get(dir, name) }
func deleteLaunchAgent(dir, name string) error              { return launchdFormat.del(dir, name) }
