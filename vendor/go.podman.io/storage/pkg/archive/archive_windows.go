//go:build windows

package archive

import (
	"archive/tar"
	"fmt"
	"os"
	"strings"

	"go.podman.io/storage/pkg/idtools"
	"go.podman.io/storage/pkg/longpath"
)

// fixVolumePathPrefix does platform specific processing to ensure that if
// the path being passed in is not in a volume path format, convert it to one.
func fixVolumePathPrefix(srcPath string) string {
	return longpath.AddPrefix(srcPath)
}

// CanonicalTarNameForPath returns platform-specific filepath
// to canonical posix-style path for tar archival. p is relative
// path.
func CanonicalTarNameForPath(p string) (string, error) {
	// windows: convert windows style relative path with backslashes
	// into forward slashes. Since windows does not allow '/' or '\'
	// in file names, it is mostly safe to replace however we must
	// check just in case
	if strings.Contains(p, "/") {
		return "", fmt.Errorf("windows path contains forward slash: %s", p)
	}
	return strings.Replace(p, string(os.PathSeparator), "/", -1), nil
}

// chmodTarEntry is used to adjust the file permissions used in tar header based
// on the platform the archival is done.
func chmodTarEntry(perm os.FileMode) os.FileMode {
	// perm &= 0755 // this 0-ed out tar flags (like link, regular file, directory marker etc.)
	permPart := perm & os.ModePerm
	noPermPart := perm &^ os.ModePerm
	// Add the x bit: make everything +x from windows
	permPart |= 0o111
	permPart &= 0o755

	return noPermPart | permPart
}

func setHeaderForSpecialDevice(hdr *tar.Header, stat any) {
	// do nothing. no notion of Rdev, Nlink in stat on Windows
}

func getInodeFromStat(_ any) uint64 {
	// do nothing. no notion of Inode in stat on Windows
	return 0
}

// handleTarTypeBlockCharFifo is an OS-specific helper function used by
// createTarFile to handle the following types of header: Block; Char; Fifo
func handleTarTypeBlockCharFifo(_ *tar.Header, _ string) error {
	return nil
}

func handleLChmod(_ *tar.Header, _, _ string, _ os.FileInfo, _ *os.FileMode) error {
	return nil
}

func getFileUIDGID(_ any) (idtools.IDPair, error) {
	// no notion of file ownership mapping yet on Windows
	return idtools.IDPair{UID: 0, GID: 0}, nil
}

// Hardlink without following symlinks
func handleLLink(targetPath string, path string) error {
	return os.Link(targetPath, path)
}
