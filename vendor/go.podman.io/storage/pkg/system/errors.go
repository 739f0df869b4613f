package system

import "go.podman.io/storage/internal/xattrs"

// ErrNotSupportedPlatform means the platform is not supported.
var ErrNotSupportedPlatform = xattrs.ErrNotSupportedPlatform
