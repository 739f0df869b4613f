package executor

import (
	"fmt"
	"strings"
	"time"
)

// phaseTimer records how long each phase of a RUN step's container takes, for the engine's debug log
// (lkpkg -v 3), where bench/phases.sh reads it: the step's set-up is lkpkg's own code, invisible in
// BuildKit's progress, which times a step as a whole.
type phaseTimer struct {
	last   time.Time
	phases []string
}

func newPhaseTimer() *phaseTimer { return &phaseTimer{last: time.Now()} }

// lap ends the phase named name, which began when the previous one ended.
func (t *phaseTimer) lap(name string) {
	now := time.Now()
	t.phases = append(t.phases, fmt.Sprintf("%s %.1fms", name, float64(now.Sub(t.last).Microseconds())/1000))
	t.last = now
}

func (t *phaseTimer) String() string { return strings.Join(t.phases, ", ") }
