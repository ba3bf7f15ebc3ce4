// SPDX-License-Identifier: Apache-2.0

extension StringProtocol {
    /// Whether this is a token (RFC 9110 §5.6.2): one or more tchar, as in media types and
    /// header names.
    public var isHTTPToken: Bool { !isEmpty && utf8.allSatisfy(Byte.isTokenChar) }
}
