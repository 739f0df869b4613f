//go:build ppc64le

package archutil

func ppc64leSupported() (string, error) {
	return "", nil
}
