//go:build arm64

package archutil

func arm64Supported() (string, error) {
	return "", nil
}
