package bridge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// RewriteCreate rewrites the bind sources of a POST /containers/create
// body: HostConfig.Binds entries and the Source of HostConfig.Mounts of
// type bind. Only the bytes of the strings it changes differ in the
// result; key order, spacing and every other field stay as they were.
// It reports whether anything changed. A body that is not a JSON object
// comes back unchanged: the engine gives the user its own error for it.
//
// Keys match without regard to case, as the engine's JSON decoder matches
// them.
func RewriteCreate(body []byte, p *Paths) ([]byte, bool, error) {
	spans, err := bindSpans(body)
	if err != nil {
		return body, false, nil //nolint:nilerr // not ours to judge: the engine answers it
	}
	var out bytes.Buffer
	last, changed := 0, false
	for _, s := range spans {
		repl, err := s.rewrite(p)
		if err != nil {
			return body, false, err
		}
		if repl == s.value {
			continue
		}
		out.Write(body[last:s.start])
		out.Write(quote(repl))
		last, changed = s.end, true
	}
	if !changed {
		return body, false, nil
	}
	out.Write(body[last:])
	return out.Bytes(), true, nil
}

// quote encodes s as a JSON string, leaving <, > and & as they are.
func quote(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// span is one JSON string value of the body that names a bind source.
type span struct {
	start, end int    // the bytes of the JSON string, quotes included
	value      string // decoded
	bind       bool   // a "src:dst[:opts]" entry rather than a bare source
}

func (s span) rewrite(p *Paths) (string, error) {
	if !s.bind {
		return p.resolve(s.value)
	}
	src, rest := splitBind(s.value)
	if rest == "" {
		return s.value, nil // not a bind; the engine reports it
	}
	g, err := p.resolve(src)
	if err != nil {
		return "", err
	}
	return g + rest, nil
}

// bindSpans walks the body once with a streaming decoder and records
// where the bind sources are.
func bindSpans(body []byte) ([]span, error) {
	w := &walker{dec: json.NewDecoder(bytes.NewReader(body)), body: body}
	w.dec.UseNumber()
	tok, err := w.next()
	if err != nil {
		return nil, err
	}
	if tok != json.Delim('{') {
		return nil, errors.New("not an object")
	}
	err = w.object(func(key string) error {
		if strings.EqualFold(key, "HostConfig") {
			return w.hostConfig()
		}
		return w.skip()
	})
	if err != nil {
		return nil, err
	}
	if _, err := w.dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data")
	}
	return w.spans, nil
}

type walker struct {
	dec   *json.Decoder
	body  []byte
	spans []span
}

func (w *walker) next() (json.Token, error) { return w.dec.Token() }

// object reads the members of an object whose '{' was read, calling f
// for each key with the decoder before the value.
func (w *walker) object(f func(key string) error) error {
	for w.dec.More() {
		tok, err := w.next()
		if err != nil {
			return err
		}
		key, ok := tok.(string)
		if !ok {
			return fmt.Errorf("object key %v", tok)
		}
		if err := f(key); err != nil {
			return err
		}
	}
	_, err := w.next() // '}'
	return err
}

// skip reads one value of any kind.
func (w *walker) skip() error {
	var v json.RawMessage
	return w.dec.Decode(&v)
}

// str reads a value and records it when it is a string.
func (w *walker) str(bind bool) (span, bool, error) {
	before := int(w.dec.InputOffset())
	tok, err := w.next()
	if err != nil {
		return span{}, false, err
	}
	if d, ok := tok.(json.Delim); ok {
		if d == '{' || d == '[' {
			return span{}, false, w.rest(d)
		}
		return span{}, false, fmt.Errorf("unexpected %v", d)
	}
	s, ok := tok.(string)
	if !ok {
		return span{}, false, nil
	}
	// Between the previous token and this string lie only separators and
	// spaces; the string starts at the first quote.
	start := before + bytes.IndexByte(w.body[before:], '"')
	return span{start: start, end: int(w.dec.InputOffset()), value: s, bind: bind}, true, nil
}

// rest consumes the remainder of an object or array whose opening
// delimiter was read.
func (w *walker) rest(json.Delim) error {
	for depth := 1; depth > 0; {
		tok, err := w.next()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
	return nil
}

// array calls f for each element of an array value; a value that is not
// an array is skipped.
func (w *walker) array(f func() error) error {
	tok, err := w.next()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); ok {
		if d != '[' {
			return w.rest(d)
		}
		for w.dec.More() {
			if err := f(); err != nil {
				return err
			}
		}
		_, err = w.next() // ']'
		return err
	}
	return nil
}

func (w *walker) hostConfig() error {
	tok, err := w.next()
	if err != nil {
		return err
	}
	if tok != json.Delim('{') {
		if d, ok := tok.(json.Delim); ok {
			return w.rest(d)
		}
		return nil
	}
	return w.object(func(key string) error {
		switch {
		case strings.EqualFold(key, "Binds"):
			return w.array(func() error {
				s, ok, err := w.str(true)
				if ok {
					w.spans = append(w.spans, s)
				}
				return err
			})
		case strings.EqualFold(key, "Mounts"):
			return w.array(w.mount)
		}
		return w.skip()
	})
}

// mount records the Source of a mount of type bind. Type may come before
// or after Source, and a key may repeat (the last one wins, as in the
// engine).
func (w *walker) mount() error {
	tok, err := w.next()
	if err != nil {
		return err
	}
	if tok != json.Delim('{') {
		if d, ok := tok.(json.Delim); ok {
			return w.rest(d)
		}
		return nil
	}
	var src *span
	typ := ""
	err = w.object(func(key string) error {
		switch {
		case strings.EqualFold(key, "Source"):
			s, ok, err := w.str(false)
			src = nil
			if ok {
				src = &s
			}
			return err
		case strings.EqualFold(key, "Type"):
			s, ok, err := w.str(false)
			typ = ""
			if ok {
				typ = s.value
			}
			return err
		}
		return w.skip()
	})
	if err == nil && src != nil && typ == "bind" {
		w.spans = append(w.spans, *src)
	}
	return err
}
