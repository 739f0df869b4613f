// Package frontend turns a LinuxKit package directory (build.yml + Dockerfile) and the command-line policy into
// what a build needs: the parsed build.yml (Spec), the resolved package identity (Package: org, image, tag) and
// the build plan (BuildPlan) that package build turns into a solve. It asks git, through treehash, for tags and
// history; nothing here runs a container.
package frontend

// Spec is build.yml as written by the user, after defaults are applied. Field names, YAML keys and defaults are
// those of linuxkit's pkglib so that existing package trees parse identically.
type Spec struct {
	Image        string       `yaml:"image"`
	Org          string       `yaml:"org"`
	Tag          string       `yaml:"tag"`
	Dockerfile   string       `yaml:"dockerfile"`
	Arches       []string     `yaml:"arches"`
	ExtraSources []string     `yaml:"extra-sources"`
	GitRepo      string       `yaml:"gitrepo"`
	Network      bool         `yaml:"network"`
	DisableCache bool         `yaml:"disable-cache"`
	Config       *ImageConfig `yaml:"config"`
	BuildArgs    *[]string    `yaml:"buildArgs"`
	Depends      Depends      `yaml:"depends"`
	// DisableContentTrust switches signing off for this package (documented in linuxkit's packages doc).
	DisableContentTrust bool `yaml:"disable-content-trust"`
}

// Depends lists images a package needs as `docker load`-able archives inside its build context.
type Depends struct {
	DockerImages DockerImages `yaml:"docker-images"`
}

// DockerImages is depends.docker-images.
type DockerImages struct {
	Target    string   `yaml:"target"`
	TargetDir string   `yaml:"target-dir"`
	FromFile  string   `yaml:"from-file"`
	List      []string `yaml:"list"`
}

// Defaults used by linuxkit when build.yml leaves a field out.
const (
	DefaultOrg        = "linuxkit"
	DefaultTag        = "{{.Hash}}"
	DefaultDockerfile = "Dockerfile"
	DefaultGitRepo    = "https://github.com/linuxkit/linuxkit"
	DefaultBuildYML   = "build.yml"
)

// DefaultArches is linuxkit's default: note that s390x is not in it.
func DefaultArches() []string { return []string{"amd64", "arm64", "riscv64"} }

func defaultSpec() Spec {
	return Spec{
		Org:        DefaultOrg,
		Tag:        DefaultTag,
		Dockerfile: DefaultDockerfile,
		Arches:     DefaultArches(),
		GitRepo:    DefaultGitRepo,
	}
}
