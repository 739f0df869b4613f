package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/distribution/reference"
	"github.com/urfave/cli/v2"

	"github.com/lkpkg/lkpkg/frontend"
	"github.com/lkpkg/lkpkg/snapshot"
)

func openCache(c *cli.Context) (*snapshot.Cache, error) {
	dir, err := cacheDir(c)
	if err != nil {
		return nil, err
	}
	return snapshot.OpenCache(dir)
}

// cacheName resolves a name as typed: the exact index.json name first (linuxkit's only form), then the full
// reference it expands to (alpine → docker.io/library/alpine:latest).
func cacheName(cache *snapshot.Cache, arg string) (string, error) {
	return cache.FindName(arg, frontend.ExpandReferenceWithTag(arg))
}

func cacheLs(c *cli.Context) error {
	cache, err := openCache(c)
	if err != nil {
		return err
	}
	list, err := cache.List()
	if err != nil {
		return err
	}
	names, err := cache.Names()
	if err != nil {
		return err
	}
	// linuxkit prints the listing at info level, so -q leaves only the exit status (0: the cache is readable).
	w := c.App.Writer
	if logLevel(c) < levelInfo {
		w = io.Discard
	}
	fmt.Fprintf(w, "%s\t%s\n", "image name", "root manifest hash")
	for _, n := range names {
		fmt.Fprintf(w, "%s\t%s\n", n, list[n].Digest)
	}
	return nil
}

func cacheRm(c *cli.Context) error {
	if c.NArg() == 0 {
		return errors.New("cache rm: give at least one image name (see `lkpkg cache ls`)")
	}
	cache, err := openCache(c)
	if err != nil {
		return err
	}
	var names []string
	var errs []error
	for _, arg := range c.Args().Slice() {
		n, err := cacheName(cache, arg)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		names = append(names, n)
	}
	if len(errs) > 0 {
		return fmt.Errorf("nothing removed: %w", errors.Join(errs...))
	}
	return removeFromCache(c, cache, names)
}

// removeFromCache removes names, or with --published-only just those the registry has with the same digest.
func removeFromCache(c *cli.Context, cache *snapshot.Cache, names []string) error {
	if c.Bool("published-only") {
		pusher, err := newPusher(c)
		if err != nil {
			return err
		}
		published, unchecked, err := pusher.Published(c.Context, cache, names)
		if err != nil {
			return err
		}
		for _, u := range unchecked {
			fmt.Fprintf(logsFor(c).Info, "Keeping (cannot check the registry): %v\n", u)
		}
		names = published
	}
	for _, n := range names {
		fmt.Fprintf(logsFor(c).Info, "Removing %s\n", n)
	}
	return cache.Remove(names...)
}

func cacheClean(c *cli.Context) error {
	cache, err := openCache(c)
	if err != nil {
		return err
	}
	if !c.Bool("published-only") {
		return cache.Clean()
	}
	names, err := cache.Names()
	if err != nil {
		return err
	}
	return removeFromCache(c, cache, names)
}

func cacheExport(c *cli.Context) error {
	if c.NArg() != 1 {
		return errors.New("cache export: give exactly one image name")
	}
	outfile := c.String("outfile")
	if outfile == "" {
		return errors.New("cache export: --outfile is required (- for stdout)")
	}
	platform, err := snapshot.ParsePlatform(c.String("platform"))
	if err != nil {
		return fmt.Errorf("cache export: %w", err)
	}
	format := snapshot.Format(c.String("format"))
	switch format {
	case snapshot.FormatOCI, snapshot.FormatDocker, snapshot.FormatFilesystem:
	default:
		return fmt.Errorf("cache export: unknown --format %q: want oci, docker or filesystem", format)
	}
	// linuxkit writes --name expanded (foo/bar:baz → docker.io/foo/bar:baz), adding no tag.
	refName := c.String("name")
	if refName != "" {
		refName = frontend.ExpandReference(refName)
		if _, err := reference.ParseNormalizedNamed(refName); err != nil {
			return cli.Exit(fmt.Sprintf("cache export: --name %q is not a valid image reference: write "+
				"[registry/]name[:tag], the name in lowercase", c.String("name")), 2)
		}
	}
	cache, err := openCache(c)
	if err != nil {
		return err
	}
	name, err := cacheName(cache, c.Args().First())
	if err != nil {
		return err
	}
	opts := snapshot.ExportOptions{Platform: platform, Format: format, RefName: refName}
	if outfile == "-" {
		return cache.Export(name, opts, c.App.Writer)
	}
	return snapshot.WriteFileAtomic(outfile, 0o644, func(w io.Writer) error { return cache.Export(name, opts, w) })
}

func cacheImport(c *cli.Context) error {
	if c.NArg() != 1 {
		return errors.New("cache import: give one tar file, or - for stdin")
	}
	r := c.App.Reader
	if arg := c.Args().First(); arg != "-" {
		f, err := os.Open(arg)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	cache, err := openCache(c)
	if err != nil {
		return err
	}
	descs, err := cache.ImportOCI(r)
	if err != nil {
		return err
	}
	for _, d := range descs {
		name := d.Annotations[snapshot.AnnotationRefName]
		if name == "" {
			name = "(unnamed)"
		}
		fmt.Fprintf(c.App.Writer, "%s\t%s\n", name, d.Digest)
	}
	return nil
}
