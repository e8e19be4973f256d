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
