package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Load reads the YAML file at path over Default, applies the VIGIL_*
// environment overrides looked up through env, and validates the result.
// path "" means no file. env is os.LookupEnv in production; nil means an
// empty environment.
//
// Environment values win over the file. Secret keys accept a companion
// `<key>_file` in the file and `<VAR>_FILE` in the environment naming a file
// that holds the secret (its trailing newline is dropped), which suits
// Docker and Kubernetes secrets.
//
// Every problem found is returned together as an *Error; a file that cannot
// be read at all gives a plain wrapped error instead.
func Load(path string, env func(string) (string, bool)) (*Config, error) {
	if env == nil {
		env = func(string) (string, bool) { return "", false }
	}
	l := &loader{file: path, env: env, origins: map[string]origin{}}
	c := Default()
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading config file: %w", err)
		}
		l.decodeFile(data, c)
	}
	l.applyEnv(reflect.ValueOf(c).Elem(), "")
	// Validate even after decoding problems: the remaining fields are still
	// worth checking, and the user gets the whole list in one go.
	validate(c, l.problem)
	if err := l.probs.err(); err != nil {
		return nil, err
	}
	c.given = make(map[string]bool, len(l.origins))
	for k := range l.origins {
		c.given[k] = true
	}
	return c, nil
}

// Validate checks c and returns an *Error listing every problem, or nil.
// Problems carry keys but no lines; Load adds the lines.
func (c *Config) Validate() error {
	var ps problems
	validate(c, func(key, msg string) { ps.add(Problem{Key: key, Msg: msg}) })
	return ps.err()
}

// origin records where the current value of a key came from, so that a
// problem found later (in validation) can point at the right line or
// environment variable.
type origin struct {
	line int    // line in the config file, when from the file
	env  string // environment variable, when from the environment
}

// loader holds the state of one Load call.
type loader struct {
	file    string
	env     func(string) (string, bool)
	origins map[string]origin // by key path, e.g. "people[1].roles[0]"
	probs   problems
}

// problem records msg against key, locating it by the key's origin or, if
// the key itself was never set, by its closest set parent: a missing
// people[2].email is reported at the line of people[2].
func (l *loader) problem(key, msg string) {
	p := Problem{Key: key, Msg: msg}
	for k := key; k != ""; k = parentKey(k) {
		if o, ok := l.origins[k]; ok {
			p.Line, p.Env = o.line, o.env
			break
		}
	}
	if p.Env == "" {
		p.File = l.file
	}
	l.probs.add(p)
}

// problemAtLine records a problem at an explicit line of the file.
func (l *loader) problemAtLine(key string, line int, msg string) {
	l.probs.add(Problem{File: l.file, Line: line, Key: key, Msg: msg})
}

// parentKey strips the last segment of a key path: "a.b[1]" -> "a.b",
// "a.b" -> "a", "a" -> "".
func parentKey(k string) string {
	i := strings.LastIndexAny(k, ".[")
	if i < 0 {
		return ""
	}
	return k[:i]
}

// joinKey appends a field name to a key path.
func joinKey(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// yamlLineRE pulls the line number out of a yaml.v3 syntax error.
var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// decodeFile parses data and decodes it into c, recording problems.
func (l *loader) decodeFile(data []byte, c *Config) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return // an empty file (or only comments) means defaults
		}
		l.syntaxError(err)
		return
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		l.syntaxError(err)
	default:
		// A second document would be silently ignored; say so instead.
		l.problemAtLine("", extra.Line, "only one YAML document is allowed (remove the \"---\")")
	}
	if len(doc.Content) == 0 {
		return
	}
	l.decodeValue(doc.Content[0], reflect.ValueOf(c).Elem(), "")
}

// syntaxError records a YAML parse error, keeping yaml's line number. The
// message never echoes document content, so it is safe even near a secret.
func (l *loader) syntaxError(err error) {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1]) // the pattern admits digits only
		l.problemAtLine("", line, "YAML syntax: "+m[2])
		return
	}
	l.problemAtLine("", 0, "YAML syntax: "+strings.TrimPrefix(msg, "yaml: "))
}

var (
	secretType      = reflect.TypeFor[Secret]()
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
)

// isNull reports whether n is an explicit or implied null ("key:" with no
// value, "~", "null"). A null leaves the default in place.
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// decodeValue decodes n into v, the value at key path. It walks structs and
// slices itself, rather than handing the whole tree to yaml, so that each
// problem knows its key and line, unknown keys are caught everywhere, and
// secret files are read where they are declared.
func (l *loader) decodeValue(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if isNull(n) {
		return
	}
	t := v.Type()
	switch {
	case reflect.PointerTo(t).Implements(unmarshalerType):
		// Secret, Duration, Timezone: they check their own YAML.
		l.decodeLeaf(n, v, path)
	case t.Kind() == reflect.Struct:
		l.decodeStruct(n, v, path)
	case t.Kind() == reflect.Slice:
		l.decodeSlice(n, v, path)
	default:
		l.decodeLeaf(n, v, path)
	}
}

// decodeLeaf decodes a single value with yaml, turning its error into a
// problem without yaml's own line prefix (the problem carries the line).
func (l *loader) decodeLeaf(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode && !reflect.PointerTo(v.Type()).Implements(unmarshalerType) {
		l.problem(path, msgf("want a single value, got a %s", kindName(n.Kind)))
		return
	}
	// Decode into a fresh value so a failure leaves the default intact.
	fresh := reflect.New(v.Type())
	if err := n.Decode(fresh.Interface()); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			l.problem(path, leafTypeMessage(n, v.Type()))
			return
		}
		l.problem(path, err.Error())
		return
	}
	v.Set(fresh.Elem())
}

// leafTypeMessage explains a scalar that does not fit its field.
func leafTypeMessage(n *yaml.Node, t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return msgf("want a whole number, got %q", n.Value)
	case reflect.Bool:
		return msgf("want true or false, got %q", n.Value)
	default:
		return msgf("want a %s, got %q", t.Kind(), n.Value)
	}
}

// decodeSlice decodes a YAML list, replacing any default list.
func (l *loader) decodeSlice(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		l.problem(path, msgf("want a list, got a %s", kindName(n.Kind)))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		ipath := path + "[" + strconv.Itoa(i) + "]"
		l.origins[ipath] = origin{line: item.Line}
		l.decodeValue(item, s.Index(i), ipath)
	}
	v.Set(s)
}

// field is one configurable struct field.
type field struct {
	name   string // YAML key
	index  int    // index in the struct
	secret bool   // also accepts name+"_file"
	env    string // overriding environment variable, if any
}

// fieldsOf lists the configurable fields of struct type t: exported fields
// with a yaml tag.
func fieldsOf(t reflect.Type) []field {
	var fs []field
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "" || name == "-" {
			continue
		}
		fs = append(fs, field{name: name, index: i, secret: f.Type == secretType, env: f.Tag.Get("env")})
	}
	return fs
}

// fileSuffix marks the key naming a file that holds a secret.
const fileSuffix = "_file"

// decodeStruct decodes a YAML mapping into a struct, reporting unknown and
// repeated keys and reading `_file` secrets.
func (l *loader) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		l.problem(path, msgf("want a mapping of keys, got a %s", kindName(n.Kind)))
		return
	}
	fs := fieldsOf(v.Type())
	seen := map[string]int{} // key -> line, for repeats
	// base secret key -> line of whichever of key or key_file came first
	secretSeen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		kpath := joinKey(path, k.Value)
		if k.ShortTag() == "!!merge" {
			l.problemAtLine(kpath, k.Line, "merge keys (<<) are not supported; write the keys out")
			continue
		}
		if prev, ok := seen[k.Value]; ok {
			l.problemAtLine(kpath, k.Line, msgf("repeated key (first set on line %d)", prev))
			continue
		}
		seen[k.Value] = k.Line
		f, isFile, ok := lookupField(fs, k.Value)
		if !ok {
			l.problemAtLine(kpath, k.Line, msgf("unknown key %q (want %s)", k.Value, knownKeys(fs)))
			continue
		}
		fpath := joinKey(path, f.name)
		if f.secret {
			if prev, ok := secretSeen[f.name]; ok {
				l.problemAtLine(kpath, k.Line, msgf("set either %s or %s%s, not both (other on line %d)", f.name, f.name, fileSuffix, prev))
				continue
			}
			secretSeen[f.name] = k.Line
		}
		if isFile {
			// The secret's problems (a bad URL, say) point at this line.
			l.origins[fpath] = origin{line: k.Line}
			l.origins[kpath] = origin{line: k.Line}
			l.readSecretFile(val, v.Field(f.index), kpath)
			continue
		}
		l.origins[fpath] = origin{line: k.Line}
		l.decodeValue(val, v.Field(f.index), fpath)
	}
}

// lookupField finds the field for a YAML key; isFile is true for the
// `<secret>_file` form.
func lookupField(fs []field, key string) (f field, isFile, ok bool) {
	for _, f := range fs {
		if f.name == key {
			return f, false, true
		}
		if f.secret && f.name+fileSuffix == key {
			return f, true, true
		}
	}
	return field{}, false, false
}

// knownKeys lists the keys a struct accepts, for "unknown key" messages.
func knownKeys(fs []field) string {
	names := make([]string, 0, len(fs))
	for _, f := range fs {
		names = append(names, f.name)
		if f.secret {
			names = append(names, f.name+fileSuffix)
		}
	}
	return strings.Join(names, ", ")
}

// readSecretFile reads the file named by node n into the Secret v.
func (l *loader) readSecretFile(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind != yaml.ScalarNode || isNull(n) || n.Value == "" {
		l.problem(path, "want the path of a file holding the secret")
		return
	}
	s, err := readSecret(n.Value)
	if err != nil {
		l.problem(path, err.Error())
		return
	}
	v.Set(reflect.ValueOf(s))
}

// readSecret reads a secret from a file, dropping trailing line breaks
// (editors and `echo` add one; no real secret ends with one). Errors name
// the path and never the contents.
func readSecret(path string) (Secret, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		// *fs.PathError names the operation, path and cause only.
		return Secret{}, fmt.Errorf("reading secret file: %w", err)
	}
	s := strings.TrimRight(string(data), "\r\n")
	if s == "" {
		// Most likely a secret mount that was never filled in.
		return Secret{}, fmt.Errorf("secret file %s is empty", path)
	}
	return NewSecret(s), nil
}

// applyEnv applies the `env`-tagged overrides in struct v (at key path),
// recursing into nested structs. Lists are not overridable from the
// environment.
func (l *loader) applyEnv(v reflect.Value, path string) {
	t := v.Type()
	for _, f := range fieldsOf(t) {
		fv := v.Field(f.index)
		fpath := joinKey(path, f.name)
		switch {
		case f.env != "":
			l.envField(fv, fpath, f)
		case fv.Kind() == reflect.Struct && !reflect.PointerTo(fv.Type()).Implements(unmarshalerType):
			l.applyEnv(fv, fpath)
		}
	}
}

// envField applies the override of one field. A variable that is set but
// empty still overrides: that is how a deployment turns off, say, an HTTP
// listener named in a shared file.
func (l *loader) envField(v reflect.Value, path string, f field) {
	val, set := l.env(f.env)
	if f.secret {
		fileVar := f.env + strings.ToUpper(fileSuffix)
		filePath, fileSet := l.env(fileVar)
		switch {
		case set && fileSet:
			l.probs.add(Problem{Env: f.env, Key: path, Msg: msgf("set either %s or %s, not both", f.env, fileVar)})
			return
		case fileSet:
			l.origins[path] = origin{env: fileVar}
			if filePath == "" {
				l.problem(path, "want the path of a file holding the secret")
				return
			}
			s, err := readSecret(filePath)
			if err != nil {
				l.problem(path, err.Error())
				return
			}
			v.Set(reflect.ValueOf(s))
			return
		}
	}
	if !set {
		return
	}
	l.origins[path] = origin{env: f.env}
	if v.Kind() == reflect.String {
		// Strings are taken verbatim; going through YAML would turn "~"
		// into null or trim spaces.
		v.SetString(val)
		return
	}
	if v.Type() == secretType {
		v.Set(reflect.ValueOf(NewSecret(val)))
		return
	}
	// Anything else (numbers, durations) is parsed like a YAML scalar.
	l.decodeValue(&yaml.Node{Kind: yaml.ScalarNode, Value: val}, v, path)
}
