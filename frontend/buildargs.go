package frontend

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// BuildArg is one KEY=VALUE build argument after @lkt: references are resolved.
type BuildArg struct {
	Key, Value string
}

const (
	lktPrefix     = "@lkt:"
	lktPkgPrefix  = "@lkt:pkg:"
	lktPkgsPrefix = "@lkt:pkgs:"
)

// ResolveBuildArgs turns KEY=VALUE entries into build args, resolving linuxkit's package references relative to
// baseDir (the directory of the file that holds them):
//
//	K=@lkt:pkg:<dir>      K = the tag of the package in <dir>
//	K%S=@lkt:pkgs:<glob>  one K<NAME>S per package directory matched, NAME from its org/image
//
// Referenced packages are resolved with default options (build.yml, HEAD, no overrides), as linuxkit does.
// source names the origin (file or field) for error messages.
func (l *Loader) ResolveBuildArgs(entries []string, baseDir, source string) ([]BuildArg, error) {
	var out []BuildArg
	for i, entry := range entries {
		key, value, ok := strings.Cut(entry, "=")
		if !ok || key == "" {
			return nil, fmt.Errorf("%s: entry %d is not KEY=VALUE", source, i+1) // the value may be a secret
		}
		args, err := l.resolveBuildArg(key, value, baseDir)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", source, key, err)
		}
		out = append(out, args...)
	}
	return out, nil
}

func (l *Loader) resolveBuildArg(key, value, baseDir string) ([]BuildArg, error) {
	switch {
	case strings.HasPrefix(value, lktPkgPrefix):
		p, err := l.withDefaults().Load(relativeTo(baseDir, strings.TrimPrefix(value, lktPkgPrefix)))
		if err != nil {
			return nil, fmt.Errorf("resolving %s: %w", value, err)
		}
		return []BuildArg{{key, p.Tag()}}, nil
	case strings.HasPrefix(value, lktPkgsPrefix):
		return l.resolvePkgsGlob(key, strings.TrimPrefix(value, lktPkgsPrefix), baseDir)
	case strings.HasPrefix(value, lktPrefix):
		return nil, fmt.Errorf("unknown linuxkit build arg value %q: use @lkt:pkg:<dir> or @lkt:pkgs:<glob>", value)
	}
	return []BuildArg{{key, value}}, nil
}

func (l *Loader) resolvePkgsGlob(key, glob, baseDir string) ([]BuildArg, error) {
	if !strings.Contains(key, "%") {
		return nil, fmt.Errorf("@lkt:pkgs: needs a %% in the key (e.g. HASH_%%) to name one argument per package")
	}
	matches, err := filepath.Glob(relativeTo(baseDir, glob))
	if err != nil {
		return nil, fmt.Errorf("bad glob %q: %w", glob, err)
	}
	var out []BuildArg
	for _, m := range matches {
		st, err := os.Stat(m)
		if err != nil || !st.IsDir() || strings.HasPrefix(filepath.Base(m), ".") {
			continue
		}
		p, err := l.withDefaults().Load(m)
		if err != nil {
			return nil, fmt.Errorf("resolving @lkt:pkgs:%s: %w", glob, err)
		}
		name := strings.ToUpper(strings.NewReplacer("/", "_", "-", "_").Replace(p.Org + "/" + p.Image))
		out = append(out, BuildArg{strings.ReplaceAll(key, "%", name), p.Tag()})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("@lkt:pkgs:%s matched no package directories", glob)
	}
	return out, nil
}

func relativeTo(baseDir, path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(baseDir, path)
}

// ReadBuildArgFile reads a --build-arg-file: KEY=VALUE per line, trimmed, lines of any length. Unlike linuxkit,
// blank lines and lines starting with # are skipped rather than rejected. A malformed line is reported by
// number only: build-arg files often hold secrets.
func ReadBuildArgFile(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--build-arg-file: %w", err)
	}
	var entries []string
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("--build-arg-file %s:%d: the line is not KEY=VALUE (a blank line or one starting "+
				"with # is skipped; the line is not shown here as it may hold a secret)", path, n+1)
		}
		entries = append(entries, strings.TrimSpace(k)+"="+strings.TrimSpace(v))
	}
	return entries, nil
}
