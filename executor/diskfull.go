package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"

	"github.com/docker/go-units"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/util/disk"
)

// IsNoSpace says whether err is a write that failed for want of space: ENOSPC or EDQUOT, as an errno or, after
// the error crossed BuildKit's gRPC boundary (which keeps only its text), as the kernel's wording.
func IsNoSpace(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, syscall.ENOSPC.Error()) || strings.Contains(msg, syscall.EDQUOT.Error())
}

// reclaimBelow is the free space under which the engine collects garbage before building even when no rule of
// the policy asks for free space (or the policy is off): what it then removes is only what nothing refers to.
const reclaimBelow = 1 << 30

// minFreeSpace is the most free space any rule of policy asks to keep, in bytes; 0 when none asks.
func minFreeSpace(policy []client.PruneInfo) int64 {
	var most int64
	for _, rule := range policy {
		most = max(most, rule.MinFreeSpace)
	}
	return most
}

// reclaimSpace collects garbage before any build when the state dir's filesystem is short of space: the build
// cache by the policy, and snapshots and content nothing refers to any more. BuildKit collects only a moment
// after the engine starts and then once a minute, which a short lkpkg run never reaches: without this, what a
// RUN step that failed for want of space wrote (its snapshot outlives the failure) would keep the disk full for
// every later build. A failed collection is only reported: the build may still fit.
func (ws *workerSet) reclaimSpace(ctx context.Context, stateDir string, policy []client.PruneInfo, messages io.Writer) {
	before, err := disk.GetDiskStat(stateDir)
	if err != nil || before.Free >= max(minFreeSpace(policy), reclaimBelow) {
		return
	}
	if len(policy) > 0 {
		ch := make(chan client.UsageInfo)
		go func() {
			for range ch { // Prune reports each record it removes; the free space says it all
			}
		}()
		err = ws.worker.Prune(ctx, ch, policy...) // then collects garbage
		close(ch)
	} else {
		err = ws.worker.GarbageCollect(ctx)
	}
	if err != nil {
		fmt.Fprintf(messages, "%s has %s free; freeing space failed: %v\n", stateDir, units.BytesSize(float64(before.Free)), err)
		return
	}
	if after, err := disk.GetDiskStat(stateDir); err == nil && after.Free > before.Free {
		fmt.Fprintf(messages, "%s had %s free: removed %s of build cache and unused snapshots\n", stateDir,
			units.BytesSize(float64(before.Free)), units.BytesSize(float64(after.Free-before.Free)))
	}
}
