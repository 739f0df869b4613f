// SPDX-License-Identifier: Apache-2.0 OR GPL-2.0-or-later

package common

// AnyDocument a placeholder for allowing any SPDX document to be used in function args
type AnyDocument interface{}
