// Code generated from params.templ.go. DO NOT EDIT.

package internal

const (
	Name          = "ML-DSA-87"
	K             = 8
	L             = 7
	Eta           = 2
	DoubleEtaBits = 3
	Omega         = 75
	Tau           = 60
	Gamma1Bits    = 19
	Gamma2        = 261888
	NIST          = true
	TRSize        = 64
	CTildeSize    = 64
)
