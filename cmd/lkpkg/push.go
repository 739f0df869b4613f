package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/lkpkg/lkpkg/frontend"
	"github.com/lkpkg/lkpkg/registry"
)

func insecureRegistryFlag() cli.Flag {
	return &cli.StringSliceFlag{Name: "insecure-registry",
		Usage: "registry (host[:port]) that may be plain HTTP or self-signed; also read from registries.conf"}
}

// newRemote reaches registries with the credentials, insecure hosts, CAs and mirrors the flags and config files
// give.
func newRemote(c *cli.Context) (registry.Remote, error) {
	creds, err := registry.LoadCredentials(flagStrings(c, "registry-creds"))
	if err != nil {
		return registry.Remote{}, err
	}
	return remoteFor(c, creds, registry.HostsOptions{Insecure: flagStrings(c, "insecure-registry"),
		CertFiles: flagStrings(c, "cert-file"), Mirrors: flagStrings(c, "mirror")})
}

// remoteFor reaches registries as o and creds say, reporting retried failures on stderr: the one place a command
// turns its registry flags into a registry.Remote.
func remoteFor(c *cli.Context, creds *registry.Credentials, o registry.HostsOptions) (registry.Remote, error) {
	hosts, err := registry.Hosts(o)
	if err != nil {
		return registry.Remote{}, err
	}
	remote := registry.NewRemote(creds, hosts)
	if remote.Mirrors, _, err = registry.ParseMirrors(o.Mirrors); err != nil {
		return registry.Remote{}, err
	}
	remote.ReportRetriesTo(c.App.ErrWriter)
	return remote, remote.TrustCAs(o.CertFiles...)
}

// newPusher is a registry.Pusher over newRemote, logging to stderr.
func newPusher(c *cli.Context) (*registry.Pusher, error) {
	remote, err := newRemote(c)
	return &registry.Pusher{Remote: remote, Log: logsFor(c).Info}, err
}

func pkgManifest(c *cli.Context) error {
	if c.NArg() != 1 {
		return errors.New("pkg manifest needs exactly one package directory")
	}
	loader, err := newLoader(c)
	if err != nil {
		return err
	}
	defer loader.Close()
	p, err := loader.Load(c.Args().First())
	if err != nil {
		return err
	}
	pusher, err := newPusher(c)
	if err != nil {
		return err
	}
	if err := pusher.PushManifest(c.Context, p.FullTag()); err != nil {
		return err
	}
	if release := c.String("release"); release != "" {
		rel, err := p.ReleaseTag(release)
		if err != nil {
			return err
		}
		return pusher.PushManifest(c.Context, frontend.ExpandReference(rel))
	}
	return nil
}

func pkgRemoteTag(c *cli.Context) error {
	if c.NArg() != 2 {
		return errors.New("pkg remote-tag needs two references: <from> <to>")
	}
	pusher, err := newPusher(c)
	if err != nil {
		return err
	}
	return pusher.RemoteTag(c.Context, frontend.ExpandReferenceWithTag(c.Args().Get(0)),
		frontend.ExpandReferenceWithTag(c.Args().Get(1)))
}

func cachePush(c *cli.Context) error {
	if c.NArg() < 1 {
		return errors.New("cache push needs at least one image name")
	}
	remoteName := c.String("remote-name")
	if remoteName != "" && c.NArg() > 1 {
		return errors.New("--remote-name needs exactly one image name")
	}
	cache, err := openCache(c)
	if err != nil {
		return err
	}
	pusher, err := newPusher(c)
	if err != nil {
		return err
	}
	for _, arg := range c.Args().Slice() {
		name, err := cacheName(cache, arg)
		if err != nil {
			return err
		}
		opts := registry.PushOptions{ArchTags: c.Bool("with-arch-tags"), Override: c.Bool("override")}
		if remoteName != "" {
			opts.RemoteName = frontend.ExpandReference(remoteName)
		}
		if err := pusher.Push(c.Context, cache, name, opts); err != nil {
			return fmt.Errorf("pushing %s: %w", name, err)
		}
	}
	return nil
}
