package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Load reads path. A missing file is an empty config. Unknown keys do not
// fail the load; they come back as warnings naming the key and its line.
func Load(path string) (*Config, []string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &Config{}, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	c, warnings, err := Parse(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, warnings, nil
}

// Parse parses the YAML text of a config file.
func Parse(b []byte) (*Config, []string, error) {
	var c Config
	if len(bytes.TrimSpace(b)) == 0 {
		return &c, nil, nil
	}
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, nil, err
	}
	if err := root.Decode(&c); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) && len(root.Content) > 0 {
			var errs []error
			typeErrors(root.Content[0], reflect.TypeOf(c), "", &errs)
			if len(errs) > 0 {
				return nil, nil, errors.Join(errs...)
			}
		}
		return nil, nil, err
	}
	var warnings []string
	if len(root.Content) > 0 {
		unknownKeys(root.Content[0], reflect.TypeOf(c), "", &warnings)
	}
	sort.Strings(warnings)
	return &c, warnings, nil
}

// unknownKeys walks the document next to the Go type and reports keys the
// type does not have. Free-form maps (engine.daemon) are not checked.
func unknownKeys(n *yaml.Node, t reflect.Type, prefix string, out *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Struct:
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			ft, ok := fields[k]
			if !ok {
				*out = append(*out, fmt.Sprintf("line %d: unknown key %q", n.Content[i].Line, prefix+k))
				continue
			}
			unknownKeys(n.Content[i+1], ft, prefix+k+".", out)
		}
	case n.Kind == yaml.SequenceNode && t.Kind() == reflect.Slice:
		for i, item := range n.Content {
			unknownKeys(item, t.Elem(), fmt.Sprintf("%s[%d].", strings.TrimSuffix(prefix, "."), i), out)
		}
	}
}

func yamlFields(t reflect.Type) map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		m[name] = f.Type
	}
	return m
}

func sortStrings(s []string) { sort.Strings(s) }

// typeErrors walks the document next to the Go type, as unknownKeys does,
// and names every value of the wrong type by its dotted field and what the
// field accepts: the YAML library's own error names only a line and a Go type.
func typeErrors(n *yaml.Node, t reflect.Type, prefix string, out *[]error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	field := strings.TrimSuffix(prefix, ".")
	switch {
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Struct:
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			if ft, ok := fields[n.Content[i].Value]; ok {
				typeErrors(n.Content[i+1], ft, prefix+n.Content[i].Value+".", out)
			}
		}
		return
	case n.Kind == yaml.SequenceNode && t.Kind() == reflect.Slice:
		for i, item := range n.Content {
			typeErrors(item, t.Elem(), fmt.Sprintf("%s[%d].", field, i), out)
		}
		return
	case n.Kind == yaml.AliasNode:
		return // its anchor is checked where it is defined
	}
	if n.Decode(reflect.New(t).Interface()) == nil {
		return
	}
	got := fmt.Sprintf("%q", n.Value)
	switch n.Kind {
	case yaml.MappingNode:
		got = "a mapping"
	case yaml.SequenceNode:
		got = "a list"
	}
	*out = append(*out, fmt.Errorf("line %d: %s: %s is not %s", n.Line, field, got, accepts(t)))
}

// accepts says in words what a field of type t takes.
func accepts(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a mapping"
	}
	return "a " + t.String()
}
