//go:build ppc64

package archutil

func ppc64Supported() (string, error) {
	return "", nil
}
