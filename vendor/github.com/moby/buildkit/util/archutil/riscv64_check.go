//go:build !riscv64

package archutil

func riscv64Supported() (string, error) {
	return check("riscv64", Binaryriscv64)
}
