package rootless

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"strconv"
	"strings"
)

// Range is one run of subordinate ids: Count ids from Start.
type Range struct {
	Start, Count uint32
}

// Owner names whose entries of /etc/subuid or /etc/subgid apply: entries may give the user's name or its
// numeric uid.
type Owner struct {
	Name string // "" when the uid has no passwd entry
	UID  int
}

func (o Owner) matches(field string) bool {
	return (o.Name != "" && field == o.Name) || field == strconv.Itoa(o.UID)
}

func (o Owner) String() string {
	if o.Name == "" {
		return strconv.Itoa(o.UID)
	}
	return o.Name
}

// readRanges returns the ranges the file at path (/etc/subuid format: "owner:start:count" per line) grants
// owner, in file order. A missing file grants nothing. Lines of other owners are not checked, as newuidmap
// ignores them too; a malformed line of owner's is an error naming it.
// (moby/sys/user's ParseSubIDFileFilter reads the same format but turns a malformed line into zero ids silently,
// which would surface later as a baffling newuidmap failure.)
func readRanges(path string, owner Owner) ([]Range, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ranges []Range
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Split(text, ":")
		if !owner.matches(fields[0]) {
			continue
		}
		r, err := parseRange(fields)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		if r.Count > 0 {
			ranges = append(ranges, r)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return ranges, nil
}

func parseRange(fields []string) (Range, error) {
	if len(fields) != 3 {
		return Range{}, fmt.Errorf("want owner:start:count, got %q", strings.Join(fields, ":"))
	}
	start, err := strconv.ParseUint(fields[1], 10, 32)
	if err != nil {
		return Range{}, fmt.Errorf("start %q is not an id", fields[1])
	}
	count, err := strconv.ParseUint(fields[2], 10, 32)
	if err != nil || start+count > math.MaxUint32 {
		return Range{}, fmt.Errorf("count %q is not a number of ids after %d", fields[2], start)
	}
	return Range{Start: uint32(start), Count: uint32(count)}, nil
}

// idMap is the map newuidmap/newgidmap are given: self becomes 0, then the ranges follow each other from 1.
// It is returned as their arguments: inside-id outside-id count, for each line.
func idMap(self int, ranges []Range) []string {
	args := []string{"0", strconv.Itoa(self), "1"}
	next := uint64(1)
	for _, r := range ranges {
		count := min(uint64(r.Count), math.MaxUint32-next) // the namespace has 2^32-1 ids
		if count == 0 {
			break
		}
		args = append(args, strconv.FormatUint(next, 10), strconv.FormatUint(uint64(r.Start), 10), strconv.FormatUint(count, 10))
		next += count
	}
	return args
}
