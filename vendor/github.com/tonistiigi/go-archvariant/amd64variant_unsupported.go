//go:build !amd64
// +build !amd64

package archvariant

func AMD64Variant() string {
	return "v1"
}
