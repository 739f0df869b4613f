// Copyright The OpenTelemetry Authors
// SPDX-License-Identifier: Apache-2.0

package otlpmetricgrpc

// Version is the current release version of the OpenTelemetry OTLP over gRPC metrics exporter in use.
func Version() string {
	return "1.46.0"
}
