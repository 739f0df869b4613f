//go:build mips64

package archutil

func mips64Supported() (string, error) {
	return "", nil
}
