package rootless

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "subid")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadRanges(t *testing.T) {
	alice := Owner{Name: "alice", UID: 1000}
	for _, tc := range []struct {
		name, file string
		owner      Owner
		want       []Range
		err        string
	}{
		{name: "by name", file: "bob:100000:65536\nalice:165536:65536\n", owner: alice,
			want: []Range{{165536, 65536}}},
		{name: "by numeric uid", file: "1000:200000:1000\n", owner: alice, want: []Range{{200000, 1000}}},
		{name: "several ranges, name and uid, in file order", file: "alice:100000:65536\n\n# comment\n1000:300000:10\nalice:200000:5\n",
			owner: alice, want: []Range{{100000, 65536}, {300000, 10}, {200000, 5}}},
		{name: "prefix of another name does not match", file: "alice2:100000:65536\n10000:1:2\n", owner: alice},
		{name: "user without passwd entry matches by uid only", file: "1000:5:6\n:7:8\n", owner: Owner{UID: 1000},
			want: []Range{{5, 6}}},
		{name: "empty range is skipped", file: "alice:100000:0\n", owner: alice},
		{name: "malformed line of another user is ignored", file: "bob:x\nalice:1:2\n", owner: alice, want: []Range{{1, 2}}},
		{name: "malformed line of the user", file: "alice:100000\n", owner: alice, err: ":1: want owner:start:count"},
		{name: "bad start", file: "bob:1:1\nalice:-5:10\n", owner: alice, err: `:2: start "-5" is not an id`},
		{name: "range past 2^32", file: "alice:4294967295:2\n", owner: alice, err: "count \"2\" is not a number of ids"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, tc.file)
			got, err := readRanges(path, tc.owner)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), path) {
					t.Fatalf("error %v, want one naming %s and containing %q", err, path, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestReadRangesMissingFile(t *testing.T) {
	got, err := readRanges(filepath.Join(t.TempDir(), "subuid"), Owner{Name: "alice", UID: 1000})
	if err != nil || got != nil {
		t.Fatalf("got %v, %v; want no ranges and no error", got, err)
	}
}

func TestIDMap(t *testing.T) {
	got := idMap(1000, []Range{{100000, 65536}, {300000, 10}})
	want := []string{"0", "1000", "1", "1", "100000", "65536", "65537", "300000", "10"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("idMap = %v, want %v", got, want)
	}
	if got := idMap(5, nil); !reflect.DeepEqual(got, []string{"0", "5", "1"}) {
		t.Errorf("idMap without ranges = %v", got)
	}
	// The namespace holds 2^32-1 ids: a range that would pass that is cut, and the next ones dropped.
	got = idMap(5, []Range{{1, 4294967295}, {7, 7}})
	if want := []string{"0", "5", "1", "1", "1", "4294967294"}; !reflect.DeepEqual(got, want) {
		t.Errorf("idMap of a huge range = %v, want %v", got, want)
	}
}
