//go:build s390x

package archutil

func s390xSupported() (string, error) {
	return "", nil
}
