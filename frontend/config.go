package frontend

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ConfigLabel is the image label that carries a package's runtime configuration to `linuxkit build`.
const ConfigLabel = "org.mobyproject.config"

// ImageConfig is build.yml's `config` section. It mirrors linuxkit's moby.ImageConfig field for field, in the same
// order, with the same YAML/JSON keys, pointer-ness and omitempty, because the label must be byte-identical to
// what linuxkit writes. Nested runtime-spec structs deliberately have no yaml tags (yaml.v3 then lower-cases their
// Go field names, exactly as linuxkit parses them) while JSON uses the spec's own tags.
type ImageConfig struct {
	Capabilities      *[]string               `yaml:"capabilities,omitempty" json:"capabilities,omitempty"`
	CapabilitiesAdd   *[]string               `yaml:"capabilities.add,omitempty" json:"capabilities.add,omitempty"`
	Ambient           *[]string               `yaml:"ambient,omitempty" json:"ambient,omitempty"`
	Mounts            *[]specs.Mount          `yaml:"mounts,omitempty" json:"mounts,omitempty"`
	Binds             *[]string               `yaml:"binds,omitempty" json:"binds,omitempty"`
	BindsAdd          *[]string               `yaml:"binds.add,omitempty" json:"binds.add,omitempty"`
	Devices           *[]Device               `yaml:"devices,omitempty" json:"devices,omitempty"`
	Tmpfs             *[]string               `yaml:"tmpfs,omitempty" json:"tmpfs,omitempty"`
	Command           *[]string               `yaml:"command,omitempty" json:"command,omitempty"`
	Env               *[]string               `yaml:"env,omitempty" json:"env,omitempty"`
	Cwd               string                  `yaml:"cwd,omitempty" json:"cwd,omitempty"`
	Net               string                  `yaml:"net,omitempty" json:"net,omitempty"`
	Pid               string                  `yaml:"pid,omitempty" json:"pid,omitempty"`
	Ipc               string                  `yaml:"ipc,omitempty" json:"ipc,omitempty"`
	Uts               string                  `yaml:"uts,omitempty" json:"uts,omitempty"`
	Userns            string                  `yaml:"userns,omitempty" json:"userns,omitempty"`
	Hostname          string                  `yaml:"hostname,omitempty" json:"hostname,omitempty"`
	Readonly          *bool                   `yaml:"readonly,omitempty" json:"readonly,omitempty"`
	MaskedPaths       *[]string               `yaml:"maskedPaths,omitempty" json:"maskedPaths,omitempty"`
	ReadonlyPaths     *[]string               `yaml:"readonlyPaths,omitempty" json:"readonlyPaths,omitempty"`
	UID               *any                    `yaml:"uid,omitempty" json:"uid,omitempty"`
	GID               *any                    `yaml:"gid,omitempty" json:"gid,omitempty"`
	AdditionalGids    *[]any                  `yaml:"additionalGids,omitempty" json:"additionalGids,omitempty"`
	NoNewPrivileges   *bool                   `yaml:"noNewPrivileges,omitempty" json:"noNewPrivileges,omitempty"`
	OOMScoreAdj       *int                    `yaml:"oomScoreAdj,omitempty" json:"oomScoreAdj,omitempty"`
	RootfsPropagation *string                 `yaml:"rootfsPropagation,omitempty" json:"rootfsPropagation,omitempty"`
	CgroupsPath       *string                 `yaml:"cgroupsPath,omitempty" json:"cgroupsPath,omitempty"`
	Resources         *specs.LinuxResources   `yaml:"resources,omitempty" json:"resources,omitempty"`
	Sysctl            *map[string]string      `yaml:"sysctl,omitempty" json:"sysctl,omitempty"`
	Rlimits           *[]string               `yaml:"rlimits,omitempty" json:"rlimits,omitempty"`
	UIDMappings       *[]specs.LinuxIDMapping `yaml:"uidMappings,omitempty" json:"uidMappings,omitempty"`
	GIDMappings       *[]specs.LinuxIDMapping `yaml:"gidMappings,omitempty" json:"gidMappings,omitempty"`
	Annotations       *map[string]string      `yaml:"annotations,omitempty" json:"annotations,omitempty"`
	Runtime           *Runtime                `yaml:"runtime,omitempty" json:"runtime,omitempty"`
}

// Device is a device node exposed to the container. Major and minor are always emitted, as linuxkit does.
type Device struct {
	Path  string `yaml:"path" json:"path"`
	Type  string `yaml:"type" json:"type"`
	Major int64  `yaml:"major" json:"major"`
	Minor int64  `yaml:"minor" json:"minor"`
	Mode  string `yaml:"mode,omitempty" json:"mode,omitempty"`
}

// Runtime is configuration applied by linuxkit's init at run time, not part of the OCI spec. BindNS is a struct
// value, so (as in linuxkit) it is always emitted once runtime is present.
type Runtime struct {
	Cgroups    *[]string      `yaml:"cgroups,omitempty" json:"cgroups,omitempty"`
	Mounts     *[]specs.Mount `yaml:"mounts,omitempty" json:"mounts,omitempty"`
	Mkdir      *[]string      `yaml:"mkdir,omitempty" json:"mkdir,omitempty"`
	Interfaces *[]Interface   `yaml:"interfaces,omitempty" json:"interfaces,omitempty"`
	BindNS     Namespaces     `yaml:"bindNS,omitempty" json:"bindNS,omitempty"`
	Namespace  *string        `yaml:"namespace,omitempty" json:"namespace,omitempty"`
}

// Namespaces are paths to bind a container's namespaces to.
type Namespaces struct {
	Cgroup *string `yaml:"cgroup,omitempty" json:"cgroup,omitempty"`
	Ipc    *string `yaml:"ipc,omitempty" json:"ipc,omitempty"`
	Mnt    *string `yaml:"mnt,omitempty" json:"mnt,omitempty"`
	Net    *string `yaml:"net,omitempty" json:"net,omitempty"`
	Pid    *string `yaml:"pid,omitempty" json:"pid,omitempty"`
	User   *string `yaml:"user,omitempty" json:"user,omitempty"`
	Uts    *string `yaml:"uts,omitempty" json:"uts,omitempty"`
}

// Interface is a network interface created for the container at run time.
type Interface struct {
	Name         string `yaml:"name,omitempty" json:"name,omitempty"`
	Add          string `yaml:"add,omitempty" json:"add,omitempty"`
	Peer         string `yaml:"peer,omitempty" json:"peer,omitempty"`
	CreateInRoot bool   `yaml:"createInRoot" json:"createInRoot"`
}

// checkConfig refuses config values linuxkit could not use. uid, gid and additionalGids are untyped in
// linuxkit's model (a number, or a name looked up in the image's /etc/passwd or /etc/group), so YAML decodes
// anything into them; anything but a whole number or a name is refused here with the key's line rather than
// failing later as an encoding error of the label.
func (p *ParsedSpec) checkConfig() error {
	c := p.Config
	if c == nil {
		return nil
	}
	for _, id := range []struct {
		field, what string
		value       *any
	}{{"config.uid", "user", c.UID}, {"config.gid", "group", c.GID}} {
		if id.value != nil {
			if err := checkID(*id.value); err != nil {
				return p.errorf(id.field, "%v: write a %s id (e.g. 1000) or a %s name", err, id.what, id.what)
			}
		}
	}
	if c.AdditionalGids != nil {
		for i, g := range *c.AdditionalGids {
			if err := checkID(g); err != nil {
				return p.errorf(fmt.Sprintf("config.additionalGids[%d]", i), "%v: write a group id (e.g. 1000) or a group name", err)
			}
		}
	}
	return nil
}

// checkID accepts what linuxkit accepts for an id: a name, or a number that fits a uint32.
func checkID(v any) error {
	switch x := v.(type) {
	case string:
		if x == "" {
			return errors.New("is empty")
		}
		return nil
	case int:
		if x >= 0 && uint64(x) <= math.MaxUint32 {
			return nil
		}
		return fmt.Errorf("%d is out of range (0 to %d)", x, uint32(math.MaxUint32))
	case int64, uint64:
		return fmt.Errorf("%d is out of range (0 to %d)", x, uint32(math.MaxUint32))
	case float64:
		return fmt.Errorf("%v is not a whole number", x)
	case bool:
		return fmt.Errorf("expected a number or a name, got the boolean %v", x)
	case nil:
		return errors.New("is empty")
	case []any:
		return errors.New("expected a number or a name, got a list")
	case map[string]any, map[any]any:
		return errors.New("expected a number or a name, got a mapping")
	}
	return fmt.Errorf("expected a number or a name, got %T", v)
}

// ConfigLabelValue encodes the config exactly as linuxkit does: encoding/json's compact form, struct field order,
// sorted map keys and HTML escaping of <, > and &. It returns "" when build.yml has no config section.
func (s *Spec) ConfigLabelValue() (string, error) {
	if s.Config == nil {
		return "", nil
	}
	b, err := json.Marshal(s.Config)
	if err != nil {
		// checkConfig refuses every value known not to encode; this names the section should another slip by.
		return "", fmt.Errorf("cannot be encoded as the %s label (%w): check the types of its values", ConfigLabel, err)
	}
	return string(b), nil
}
