package frontend

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"gopkg.in/yaml.v3"
)

// FieldError is a problem with one field of build.yml. It prints as "file:line: field: message" so editors can
// jump to it.
type FieldError struct {
	File  string
	Line  int // 0 when the field is absent from the file
	Field string
	Msg   string
}

func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ParsedSpec is a Spec together with where each key sits in its file, so later checks can point at a line.
type ParsedSpec struct {
	Spec
	File   string
	lines  map[string]int        // key path → line of the key (or of the list item)
	values map[string]*yaml.Node // key path → its value, to tell apart the keys of a one-line {a: b} mapping
}

// errorf builds a FieldError for field, locating it in the file when it is there.
func (p *ParsedSpec) errorf(field, format string, args ...any) error {
	return &FieldError{File: p.File, Line: p.lines[field], Field: field, Msg: fmt.Sprintf(format, args...)}
}

// ParseFile reads and decodes one build.yml. It applies linuxkit's defaults, rejects unknown keys and reports
// every decoding problem with file, line and key. It does not look at anything besides the file itself; see
// Validate for checks that need the package directory.
func ParseFile(path string) (*ParsedSpec, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: no such file: a package directory needs a build.yml (at least `image: <name>`), or pass --build-yml", path)
	}
	if errors.Is(err, syscall.EISDIR) {
		return nil, fmt.Errorf("%s is a directory: --build-yml names the package's build file (default build.yml)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return ParseBytes(path, data)
}

// ParseBytes is ParseFile on data already read; file is used in messages only.
func ParseBytes(file string, data []byte) (*ParsedSpec, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, syntaxError(file, err)
	}
	if len(doc.Content) == 0 {
		return nil, &FieldError{File: file, Msg: "file is empty: a build.yml needs at least `image: <name>`"}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, &FieldError{File: file, Line: root.Line,
			Msg: "expected a mapping of keys such as `image: <name>`, got " + kindName(root)}
	}
	p := &ParsedSpec{Spec: defaultSpec(), File: file, lines: map[string]int{}, values: map[string]*yaml.Node{}}
	p.indexLines(root, "")

	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&p.Spec); err != nil {
		return nil, p.decodeError(err)
	}
	if err := p.checkDecoded(); err != nil {
		return nil, err
	}
	return p, nil
}

// checkDecoded applies the rules that need nothing but the decoded values.
func (p *ParsedSpec) checkDecoded() error {
	s := &p.Spec
	if s.Image == "" {
		return p.errorf("image", "is required: add `image: <name>` (the repository name under the org)")
	}
	if _, ok := p.lines["org"]; ok && s.Org == "" {
		return p.errorf("org", "is empty: remove the key to use the default %q, or set an org", DefaultOrg)
	}
	if s.Tag == "" {
		s.Tag = DefaultTag
	}
	if s.Dockerfile == "" {
		s.Dockerfile = DefaultDockerfile
	}
	if s.BuildArgs != nil {
		for i, a := range *s.BuildArgs {
			if !strings.Contains(a, "=") {
				return p.errorf(fmt.Sprintf("buildArgs[%d]", i), "%q is not KEY=VALUE", a)
			}
		}
	}
	if err := p.checkArches(); err != nil {
		return err
	}
	return p.checkConfig()
}

func (p *ParsedSpec) checkArches() error {
	for i, a := range p.Arches {
		field := fmt.Sprintf("arches[%d]", i)
		if strings.Contains(a, "/") {
			return p.errorf(field, "%q: write the architecture alone (e.g. %q), not an os/arch platform", a, a[strings.LastIndex(a, "/")+1:])
		}
		if !KnownArch(a) {
			return p.errorf(field, "unknown architecture %q: use one of %s", a, strings.Join(knownArches, ", "))
		}
	}
	return nil
}

// knownArches are the Linux GOARCH values an OCI platform can name.
var knownArches = []string{"386", "amd64", "arm", "arm64", "loong64", "mips", "mips64", "mips64le", "mipsle",
	"ppc64", "ppc64le", "riscv64", "s390x"}

// KnownArch reports whether a is an architecture lkpkg can build for.
func KnownArch(a string) bool {
	for _, k := range knownArches {
		if a == k {
			return true
		}
	}
	return false
}

// The patterns of yaml.v3's messages are compiled on the first error, not at every start of the binary (each
// RUN container's init is this binary too).
var (
	yamlLineRE     = lazyRegexp(`^yaml: line (\d+): (.*)$`)
	unknownFieldRE = lazyRegexp(`^line (\d+): field (\S+) not found in type`)
	wrongTypeRE    = lazyRegexp("^line (\\d+): cannot unmarshal !!(\\w+)(?: `(.*)`)? into (.+)$")
)

// lazyRegexp returns expr compiled on first use.
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

func syntaxError(file string, err error) error {
	if m := yamlLineRE().FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &FieldError{File: file, Line: line, Msg: "YAML syntax error: " + m[2]}
	}
	return &FieldError{File: file, Msg: "YAML syntax error: " + strings.TrimPrefix(err.Error(), "yaml: ")}
}

// decodeError rewrites yaml.v3's type errors (which name Go types) into messages naming the build.yml key.
func (p *ParsedSpec) decodeError(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) || len(te.Errors) == 0 {
		if errors.Is(err, io.EOF) {
			return &FieldError{File: p.File, Msg: "file is empty: a build.yml needs at least `image: <name>`"}
		}
		return &FieldError{File: p.File, Msg: err.Error()}
	}
	msg := te.Errors[0]
	if m := unknownFieldRE().FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		field := p.keyAt(line, m[2])
		return &FieldError{File: p.File, Line: line, Field: field, Msg: unknownKeyMessage(field, m[2])}
	}
	if m := wrongTypeRE().FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		got := yamlTagName(m[2])
		if m[3] != "" {
			got += fmt.Sprintf(" %q", m[3])
		}
		return &FieldError{File: p.File, Line: line, Field: p.valueAt(line, m[2], m[3]),
			Msg: fmt.Sprintf("expected %s, got %s", goTypeName(m[4]), got)}
	}
	return &FieldError{File: p.File, Msg: msg}
}

// keyAt finds the full path of key name defined on line.
func (p *ParsedSpec) keyAt(line int, name string) string {
	best := name
	for path, l := range p.lines {
		if l == line && (path == name || strings.HasSuffix(path, "."+name)) {
			best = path
		}
	}
	return best
}

// valueAt finds the key path whose value yaml.v3 refused: of the values on line, the one with its tag (map, str …)
// and text (which the message shortens to 7 characters and "..."), else any on the line; the most specific wins,
// so that in `config: {binds: 3}` it is config.binds, and in `buildArgs: {a: b}` it is buildArgs.
func (p *ParsedSpec) valueAt(line int, tag, text string) string {
	best, bestScore := "", -1
	for path, l := range p.lines {
		if l != line {
			continue
		}
		score := 0
		if v := p.values[path]; v != nil && v.ShortTag() == "!!"+tag {
			score = 2
			if text == "" || v.Value == text || strings.HasSuffix(text, "...") && strings.HasPrefix(v.Value, strings.TrimSuffix(text, "...")) {
				score = 3
			}
		}
		if score > bestScore || score == bestScore && (len(path) > len(best) || len(path) == len(best) && path < best) {
			best, bestScore = path, score
		}
	}
	return best
}

// indexLines records the line and value of every key and sequence item under prefix.
func (p *ParsedSpec) indexLines(n *yaml.Node, prefix string) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			path := k.Value
			if prefix != "" {
				path = prefix + "." + k.Value
			}
			if _, seen := p.lines[path]; !seen {
				p.lines[path], p.values[path] = k.Line, v
			}
			p.indexLines(v, path)
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			path := fmt.Sprintf("%s[%d]", prefix, i)
			p.lines[path], p.values[path] = item.Line, item
			p.indexLines(item, path)
		}
	}
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("the value %q", n.Value)
	default:
		return "something else"
	}
}

func yamlTagName(tag string) string {
	switch tag {
	case "str":
		return "the string"
	case "int", "float":
		return "the number"
	case "bool":
		return "the boolean"
	case "seq":
		return "a list"
	case "map":
		return "a mapping"
	case "null":
		return "nothing"
	}
	return tag
}

func goTypeName(t string) string {
	switch {
	case strings.HasPrefix(t, "[]"):
		return "a list (write `- item` lines or [a, b])"
	case t == "bool":
		return "true or false"
	case t == "string":
		return "a string"
	case strings.HasPrefix(t, "int") || strings.HasPrefix(t, "uint"):
		return "a whole number"
	case strings.HasPrefix(t, "map["):
		return "a mapping of key: value"
	}
	return "a mapping of keys"
}

// unknownKeyMessage suggests the nearest valid key and lists the valid ones.
func unknownKeyMessage(path, key string) string {
	valid := validKeys(path)
	msg := "unknown key"
	if s := closestKey(key, valid); s != "" {
		msg += "; did you mean " + strconv.Quote(s) + "?"
	} else {
		msg += "."
	}
	if len(valid) > 0 {
		msg += " Valid keys here: " + strings.Join(valid, ", ") + "."
	}
	return msg
}
