// Command phases turns the output of one `lkpkg -v 3 pkg build --progress rawjson` into a table of where the
// time went: before the first build step (engine start, planning, registry look-ups), each step of BuildKit's
// progress with its sub-tasks (pulls, extraction, exporting, layer rewriting), each RUN container's own phases
// (from lkpkg's debug log), and after the last step (the cache commit and exit). bench/phases.sh runs it.
//
// usage: go run ./bench/phases -start <unix ns> -end <unix ns> <output file>
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"
)

type vertex struct {
	Digest    string     `json:"digest"`
	Name      string     `json:"name"`
	Started   *time.Time `json:"started"`
	Completed *time.Time `json:"completed"`
}

type status struct {
	ID        string     `json:"id"`
	Vertex    string     `json:"vertex"`
	Started   *time.Time `json:"started"`
	Completed *time.Time `json:"completed"`
}

type event struct {
	Vertexes []vertex `json:"vertexes"`
	Statuses []status `json:"statuses"`
}

// span is one timed thing: a step, a sub-task of a step, or a phase of a RUN container.
type span struct {
	name       string
	start, end time.Time
	children   []*span
}

var runLine = regexp.MustCompile(`msg="RUN container \S+: ([^"]*)" span="((?:[^"\\]|\\.)*)"`)

func main() {
	startNS := flag.Int64("start", 0, "process start, Unix nanoseconds")
	endNS := flag.Int64("end", 0, "process end, Unix nanoseconds")
	flag.Parse()
	if flag.NArg() != 1 || *startNS == 0 || *endNS == 0 {
		fmt.Fprintln(os.Stderr, "usage: phases -start <unix ns> -end <unix ns> <lkpkg output>")
		os.Exit(2)
	}
	f, err := os.Open(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "phases:", err)
		os.Exit(1)
	}
	defer f.Close()
	steps, runs, err := read(f)
	if err != nil {
		fmt.Fprintln(os.Stderr, "phases:", err)
		os.Exit(1)
	}
	print(os.Stdout, time.Unix(0, *startNS), time.Unix(0, *endNS), steps, runs)
}

// read collects the steps (with their sub-tasks) of the rawjson progress and the RUN containers' phase lines.
func read(r io.Reader) ([]*span, map[string][]string, error) {
	byDigest := map[string]*span{}
	subtasks := map[string]*span{}
	runs := map[string][]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := runLine.FindStringSubmatch(line); m != nil {
			name := strings.ReplaceAll(m[2], `\"`, `"`)
			runs[name] = append(runs[name], m[1])
			continue
		}
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var ev event
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			continue // a line of the build's own output that starts with a brace
		}
		for _, v := range ev.Vertexes {
			s := byDigest[v.Digest]
			if s == nil {
				s = &span{name: v.Name}
				byDigest[v.Digest] = s
			}
			widen(s, v.Started, v.Completed)
		}
		for _, st := range ev.Statuses {
			key := st.Vertex + "\x00" + st.ID
			s := subtasks[key]
			if s == nil {
				s = &span{name: st.ID}
				subtasks[key] = s
				if parent := byDigest[st.Vertex]; parent != nil {
					parent.children = append(parent.children, s)
				}
			}
			widen(s, st.Started, st.Completed)
		}
	}
	var steps []*span
	for _, s := range byDigest {
		if !s.start.IsZero() {
			steps = append(steps, s)
		}
	}
	sort.Slice(steps, func(i, j int) bool { return steps[i].start.Before(steps[j].start) })
	return steps, runs, sc.Err()
}

func widen(s *span, started, completed *time.Time) {
	if started != nil && (s.start.IsZero() || started.Before(s.start)) {
		s.start = *started
	}
	if completed != nil && completed.After(s.end) {
		s.end = *completed
	}
}

func print(w io.Writer, start, end time.Time, steps []*span, runs map[string][]string) {
	ms := func(d time.Duration) string { return fmt.Sprintf("%7.0f", float64(d.Microseconds())/1000) }
	fmt.Fprintf(w, "%7s %7s  %s\n", "at ms", "took ms", "phase")
	if len(steps) == 0 {
		fmt.Fprintf(w, "%s %s  whole process (no build steps ran)\n", ms(0), ms(end.Sub(start)))
		return
	}
	first, last := steps[0].start, steps[0].end
	for _, s := range steps {
		if s.end.After(last) {
			last = s.end
		}
	}
	fmt.Fprintf(w, "%s %s  process start to the first step: engine start, plans, registry look-ups\n", ms(0), ms(first.Sub(start)))
	for _, s := range steps {
		fmt.Fprintf(w, "%s %s  %s\n", ms(s.start.Sub(start)), ms(s.end.Sub(s.start)), clip(s.name, 90))
		sort.Slice(s.children, func(i, j int) bool { return s.children[i].start.Before(s.children[j].start) })
		for _, c := range s.children {
			if c.start.IsZero() || c.end.IsZero() {
				continue
			}
			fmt.Fprintf(w, "%s %s      %s\n", ms(c.start.Sub(start)), ms(c.end.Sub(c.start)), clip(c.name, 86))
		}
		for _, phases := range runs[s.name] {
			fmt.Fprintf(w, "%7s %7s      container: %s\n", "", "", phases)
		}
	}
	fmt.Fprintf(w, "%s %s  last step to process exit: results into the linuxkit cache, engine stop\n", ms(last.Sub(start)), ms(end.Sub(last)))
	fmt.Fprintf(w, "%s %s  whole process\n", ms(0), ms(end.Sub(start)))
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}
