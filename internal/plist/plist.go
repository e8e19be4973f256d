// Package plist writes and reads the small XML property lists Berth
// handles on macOS (a launchd agent, the code-signing entitlements): one
// top-level dict whose values are strings, booleans, integers or arrays
// of strings. Reading skips values of other kinds (a nested dict, data, a
// date, a real) rather than failing, so a file a user extended still
// reads.
package plist

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Dict is a top-level dict. Values are string, bool, int or []string.
type Dict map[string]any

const header = xml.Header + `<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">` + "\n"

// Marshal writes d as an XML property list, keys sorted.
func Marshal(d Dict) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(header)
	b.WriteString("<plist version=\"1.0\">\n<dict>\n")
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b.WriteString("\t<key>" + escape(k) + "</key>\n")
		switch v := d[k].(type) {
		case string:
			b.WriteString("\t<string>" + escape(v) + "</string>\n")
		case bool:
			b.WriteString("\t<" + strconv.FormatBool(v) + "/>\n")
		case int:
			b.WriteString("\t<integer>" + strconv.Itoa(v) + "</integer>\n")
		case []string:
			b.WriteString("\t<array>\n")
			for _, s := range v {
				b.WriteString("\t\t<string>" + escape(s) + "</string>\n")
			}
			b.WriteString("\t</array>\n")
		default:
			return nil, fmt.Errorf("plist: key %q: unsupported value type %T", k, v)
		}
	}
	b.WriteString("</dict>\n</plist>\n")
	return b.Bytes(), nil
}

func escape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // a strings.Builder does not fail
	return b.String()
}

// Unmarshal reads an XML property list whose top level is a dict.
func Unmarshal(data []byte) (Dict, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	if err := enter(dec, "plist"); err != nil {
		return nil, err
	}
	if err := enter(dec, "dict"); err != nil {
		return nil, err
	}
	d := Dict{}
	for {
		start, end, err := next(dec)
		if err != nil {
			return nil, err
		}
		if end {
			return d, nil // </dict>
		}
		if start.Name.Local != "key" {
			return nil, fmt.Errorf("plist: <%s> where a <key> was expected", start.Name.Local)
		}
		key, err := text(dec)
		if err != nil {
			return nil, err
		}
		vstart, end, err := next(dec)
		if err != nil {
			return nil, err
		}
		if end {
			return nil, fmt.Errorf("plist: key %q has no value", key)
		}
		v, ok, err := value(dec, vstart)
		if err != nil {
			return nil, fmt.Errorf("plist: key %q: %w", key, err)
		}
		if ok {
			d[key] = v
		}
	}
}

// value reads the element start opened; ok is false for a kind that is
// skipped.
func value(dec *xml.Decoder, start xml.StartElement) (v any, ok bool, err error) {
	switch start.Name.Local {
	case "string":
		s, err := text(dec)
		return s, err == nil, err
	case "true", "false":
		return start.Name.Local == "true", true, dec.Skip()
	case "integer":
		s, err := text(dec)
		if err != nil {
			return nil, false, err
		}
		n, err := strconv.Atoi(strings.TrimSpace(s))
		return n, err == nil, err
	case "array":
		return stringArray(dec)
	}
	return nil, false, dec.Skip()
}

// stringArray reads an <array> of strings; one with other kinds in it is
// skipped whole.
func stringArray(dec *xml.Decoder) (any, bool, error) {
	var out []string
	all := true
	for {
		start, end, err := next(dec)
		if err != nil {
			return nil, false, err
		}
		if end {
			return out, all, nil
		}
		if start.Name.Local != "string" {
			all = false
			if err := dec.Skip(); err != nil {
				return nil, false, err
			}
			continue
		}
		s, err := text(dec)
		if err != nil {
			return nil, false, err
		}
		out = append(out, s)
	}
}

// enter reads up to the start of element name.
func enter(dec *xml.Decoder, name string) error {
	start, end, err := next(dec)
	if err != nil {
		return err
	}
	if end || start.Name.Local != name {
		return fmt.Errorf("plist: want <%s>", name)
	}
	return nil
}

// next returns the next start element, or end true at an end element;
// character data between elements (white space) and the prolog are
// passed over.
func next(dec *xml.Decoder) (xml.StartElement, bool, error) {
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return xml.StartElement{}, false, errors.New("plist: unexpected end of file")
		}
		if err != nil {
			return xml.StartElement{}, false, fmt.Errorf("plist: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return t, false, nil
		case xml.EndElement:
			return xml.StartElement{}, true, nil
		}
	}
}

// text reads an element's character data up to its end.
func text(dec *xml.Decoder) (string, error) {
	var b strings.Builder
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", fmt.Errorf("plist: %w", err)
		}
		switch t := tok.(type) {
		case xml.CharData:
			b.Write(t)
		case xml.EndElement:
			return b.String(), nil
		case xml.StartElement:
			return "", fmt.Errorf("plist: <%s> inside a text element", t.Name.Local)
		}
	}
}
