package executor

import (
	"fmt"
	"strings"
	"time"
)

// phaseTimer records how long each phase of a RUN step's container takes, for the engine's debug log
// (lkpkg -v 3), where bench/phases.sh reads it: the step's set-up is lkpkg's own code, invisible in
// BuildKit's progress, which times a step as a whole. It formats nothing until the log asks.
type phaseTimer struct {
	last   time.Time
	names  []string
	phases []time.Duration
}

func newPhaseTimer() *phaseTimer { return &phaseTimer{last: time.Now()} }

// lap ends the phase named name, which began when the previous one ended.
func (t *phaseTimer) lap(name string) {
	now := time.Now()
	t.names = append(t.names, name)
	t.phases = append(t.phases, now.Sub(t.last))
	t.last = now
}

func (t *phaseTimer) String() string {
	parts := make([]string, len(t.names))
	for i, name := range t.names {
		parts[i] = fmt.Sprintf("%s %.1fms", name, float64(t.phases[i].Microseconds())/1000)
	}
	return strings.Join(parts, ", ")
}
