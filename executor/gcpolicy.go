package executor

import (
	"fmt"
	"os"

	"github.com/moby/buildkit/client"
	buildkitdconfig "github.com/moby/buildkit/cmd/buildkitd/config"
	"github.com/moby/buildkit/util/disk"
)

// engineConfig is what of a buildkitd.toml (--builder-config) applies to the in-process engine: the OCI worker's
// garbage collection and its max-parallelism. Its registry sections are registry.Hosts's.
type engineConfig struct {
	gc             buildkitdconfig.GCConfig
	maxParallelism int
}

func loadEngineConfig(path string) (engineConfig, error) {
	if path == "" {
		return engineConfig{}, nil
	}
	if _, err := os.Stat(path); err != nil {
		return engineConfig{}, fmt.Errorf("--builder-config: %w", err)
	}
	cfg, err := buildkitdconfig.LoadFile(path)
	if err != nil {
		return engineConfig{}, fmt.Errorf("--builder-config %s: %w", path, err)
	}
	if cfg.Workers.OCI.MaxParallelism < 0 {
		return engineConfig{}, fmt.Errorf("--builder-config %s: [worker.oci] max-parallelism must not be negative", path)
	}
	return engineConfig{gc: cfg.Workers.OCI.GCConfig, maxParallelism: cfg.Workers.OCI.MaxParallelism}, nil
}

// gcPolicy is the build cache's garbage collection policy as buildkitd derives it from its configuration: the
// configured rules, or BuildKit's default ones bounded by the size of the state dir's filesystem (a share of it,
// capped); none when gc = false.
func gcPolicy(cfg buildkitdconfig.GCConfig, stateDir string) []client.PruneInfo {
	if cfg.GC != nil && !*cfg.GC {
		return nil
	}
	dstat, _ := disk.GetDiskStat(stateDir)
	rules := cfg.GCPolicy
	if len(rules) == 0 {
		rules = buildkitdconfig.DefaultGCPolicy(cfg, dstat)
	}
	out := make([]client.PruneInfo, 0, len(rules))
	for _, rule := range rules {
		reserved := rule.ReservedSpace
		//nolint:staticcheck // KeepBytes is the older name of ReservedSpace, still accepted by buildkitd.
		if reserved == (buildkitdconfig.DiskSpace{}) && rule.KeepBytes != (buildkitdconfig.DiskSpace{}) {
			reserved = rule.KeepBytes //nolint:staticcheck
		}
		out = append(out, client.PruneInfo{
			All:           rule.All,
			Filter:        rule.Filters,
			KeepDuration:  rule.KeepDuration.Duration,
			ReservedSpace: reserved.AsBytes(dstat),
			MaxUsedSpace:  rule.MaxUsedSpace.AsBytes(dstat),
			MinFreeSpace:  rule.MinFreeSpace.AsBytes(dstat),
		})
	}
	return out
}
