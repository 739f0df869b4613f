package frontend

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func dockerfilePlan(t *testing.T, content string) *BuildPlan {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return &BuildPlan{ContextDir: dir, Dockerfile: "Dockerfile"}
}

func TestImages(t *testing.T) {
	for _, tc := range []struct {
		name, dockerfile string
		args             map[string]string
		want             []string
	}{
		{"multi-stage", "FROM busybox:fixture AS build\nRUN true\nFROM scratch\nCOPY --from=build / /\n", nil, []string{"busybox:fixture"}},
		{"stage reuse and duplicates", "FROM a:1 AS one\nFROM one AS two\nFROM a:1\nFROM Two\n", nil, []string{"a:1"}},
		{"ARG default", "ARG IMAGE=linuxkit/alpine\nARG TAG=abc\nFROM ${IMAGE}:${TAG}\n", nil, []string{"linuxkit/alpine:abc"}},
		{"build arg overrides ARG", "ARG IMAGE=alpine:3\nFROM $IMAGE\n", map[string]string{"IMAGE": "busybox:fixture"}, []string{"busybox:fixture"}},
		{"undeclared build arg is invisible to FROM", "ARG X=a\nFROM ${X}${Y}:1\n", map[string]string{"Y": "b"}, []string{"a:1"}},
		{"FROM --platform", "FROM --platform=linux/amd64 linuxkit/foo:h AS x\nFROM scratch\n", nil, []string{"linuxkit/foo:h"}},
		{"COPY --from image", "FROM scratch\nCOPY --from=busybox:fixture /etc/passwd /\n", nil, []string{"busybox:fixture"}},
		{"COPY --from stage, index and later stage", "FROM busybox:fixture AS a\nFROM scratch\nCOPY --from=a / /\nCOPY --from=0 / /\nCOPY --from=LATER / /\nFROM alpine:3 AS later\n", nil, []string{"busybox:fixture", "alpine:3"}},
		{"RUN --mount from image", "FROM busybox:fixture\nRUN --mount=type=bind,from=linuxkit/tools:abc,target=/t --mount=type=cache,target=/c,from=cachesrc:1 true\n", nil, []string{"busybox:fixture", "linuxkit/tools:abc", "cachesrc:1"}},
		{"RUN --mount from stage, tmpfs and secret", "FROM busybox:fixture AS b\nRUN --mount=type=bind,from=b,target=/t --mount=type=tmpfs,target=/x --mount=type=secret,id=s true\n", nil, []string{"busybox:fixture"}},
		{"image only in a later stage", "FROM scratch AS one\nFROM scratch\nCOPY --from=one / /\nFROM other:2\nCOPY --from=third:3 / /\n", nil, []string{"other:2", "third:3"}},
		{"FROM an ARG in a later stage", "ARG BASE=busybox:fixture\nFROM scratch AS x\nFROM ${BASE} AS y\nCOPY --from=x / /\n", nil, []string{"busybox:fixture"}},
		{"COPY --from scratch", "FROM busybox:fixture\nCOPY --from=scratch / /\n", nil, []string{"busybox:fixture"}},
		{"duplicates across kinds", "FROM a:1\nCOPY --from=a:1 / /\nRUN --mount=from=a:1,target=/m true\n", nil, []string{"a:1"}},
		{"digest pinned", "FROM busybox@sha256:" + strings.Repeat("a", 64) + "\n", nil, []string{"busybox@sha256:" + strings.Repeat("a", 64)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			df, err := ReadDockerfile(dockerfilePlan(t, tc.dockerfile))
			if err != nil {
				t.Fatal(err)
			}
			got, err := df.Images(tc.args)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDockerfileErrors(t *testing.T) {
	for _, tc := range []struct{ name, dockerfile, want string }{
		{"syntax directive", "# syntax=docker/dockerfile:1.7\nFROM scratch\n", "Dockerfile:1: `# syntax=docker/dockerfile:1.7` would load a Dockerfile frontend image"},
		{"empty FROM", "ARG X\nFROM ${X}\n", "expands to an empty name"},
		{"no FROM", "RUN true\n", "Dockerfile"},
		{"unknown instruction", "FROM scratch\n\nRUNN true\n", "Dockerfile:3: unknown instruction: RUNN (did you mean RUN?)"},
		{"bad flag", "FROM scratch\nCOPY --bogus=1 a /b\n", "Dockerfile:2: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			df, err := ReadDockerfile(dockerfilePlan(t, tc.dockerfile))
			if err == nil {
				_, err = df.Images(nil)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}
