//go:build mips64le

package archutil

func mips64leSupported() (string, error) {
	return "", nil
}
