package retryhandler

import "syscall"

const errConnectionReset = syscall.WSAECONNRESET
