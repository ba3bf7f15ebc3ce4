// SPDX-License-Identifier: Apache-2.0
// The system-call layer is part of Reactor's surface: its API throws `SystemError`, and the modules
// above (QRServer, the tests) name `SystemError`, `FileBytes` and `FileDescriptor` through Reactor.
@_exported import SystemCalls
