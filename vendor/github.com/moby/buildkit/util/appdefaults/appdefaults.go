package appdefaults

const (
	BridgeName   = "buildkit0"
	BridgeSubnet = "10.10.0.0/16"
)
