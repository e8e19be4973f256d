package config

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// DefaultFile is the commented file written on first start.
//
//go:embed default.yaml
var DefaultFile []byte

// WriteDefault writes the commented default file unless a config exists.
func WriteDefault(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(DefaultFile); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}

// checkKey tells whether a dotted key exists in the schema; anything below
// engine.daemon is free-form.
func checkKey(key string) error {
	t := reflect.TypeOf(Config{})
	parts := strings.Split(key, ".")
	for i, p := range parts {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() == reflect.Map {
			return nil
		}
		if t.Kind() != reflect.Struct {
			return fmt.Errorf("unknown key %q: %q has no sub-keys", key, strings.Join(parts[:i], "."))
		}
		ft, ok := yamlFields(t)[p]
		if !ok {
			return fmt.Errorf("unknown key %q (keys: %s)", key, strings.Join(sortedKeys(yamlFields(t)), ", "))
		}
		t = ft
	}
	return nil
}

func sortedKeys(m map[string]reflect.Type) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sortStrings(out)
	return out
}

// Get returns the YAML of key in doc, or "" when it is not set.
func Get(doc []byte, key string) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	root, err := parseDoc(doc)
	if err != nil {
		return "", err
	}
	n := lookup(root, strings.Split(key, "."), false)
	if n == nil {
		return "", nil
	}
	b, err := yaml.Marshal(n)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// Set returns doc with key set to value (YAML: a scalar, a [list] or a
// {map}), keeping the file's comments and the order of its keys.
func Set(doc []byte, key, value string) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	var v yaml.Node
	if err := yaml.Unmarshal([]byte(value), &v); err != nil {
		return nil, fmt.Errorf("value %q: %w", value, err)
	}
	root, err := parseDoc(doc)
	if err != nil {
		return nil, err
	}
	// A file of comments only (the default file) parses to nothing: keep
	// its text and append the new keys below it.
	var keep []byte
	if len(root.Content[0].Content) == 0 {
		keep = doc
	}
	n := lookup(root, strings.Split(key, "."), true)
	if len(v.Content) == 0 {
		*n = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	} else {
		val := v.Content[0]
		val.HeadComment, val.LineComment, val.FootComment = n.HeadComment, n.LineComment, n.FootComment
		*n = *val
	}
	out, err := yaml.Marshal(root)
	if err != nil {
		return nil, err
	}
	if keep != nil {
		out = append(append(append([]byte{}, keep...), '\n'), out...)
	}
	return out, nil
}

func parseDoc(doc []byte) (*yaml.Node, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(doc, &root); err != nil {
		return nil, err
	}
	if root.Kind == 0 {
		root = yaml.Node{Kind: yaml.DocumentNode}
	}
	if len(root.Content) == 0 {
		root.Content = []*yaml.Node{{Kind: yaml.MappingNode}}
	}
	if root.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("the config file must be a mapping of keys")
	}
	return &root, nil
}

// lookup finds (or, with create, makes) the node for a key path.
func lookup(root *yaml.Node, path []string, create bool) *yaml.Node {
	n := root.Content[0]
	for _, p := range path {
		if n.Kind != yaml.MappingNode {
			if !create {
				return nil
			}
			*n = yaml.Node{Kind: yaml.MappingNode}
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == p {
				next = n.Content[i+1]
			}
		}
		if next == nil {
			if !create {
				return nil
			}
			next = &yaml.Node{Kind: yaml.MappingNode}
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: p}, next)
		}
		n = next
	}
	return n
}
