//go:build loong64

package archutil

func loong64Supported() (string, error) {
	return "", nil
}
