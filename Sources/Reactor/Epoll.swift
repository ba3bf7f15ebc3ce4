// SPDX-License-Identifier: Apache-2.0
import CSystemShims

/// Readiness events as an option set over the `EPOLL*` bits.
struct EpollEvents: OptionSet, Hashable, Sendable {
    var rawValue: UInt32

    /// `EPOLLIN`: readable (or a pending accept).
    static let readable = EpollEvents(rawValue: qrs_EPOLLIN)
    /// `EPOLLOUT`: writable (or a finished non-blocking connect).
    static let writable = EpollEvents(rawValue: qrs_EPOLLOUT)
    /// `EPOLLERR`: an error is pending; always reported.
    static let error = EpollEvents(rawValue: qrs_EPOLLERR)
    /// `EPOLLHUP`: both directions shut down; always reported.
    static let hangup = EpollEvents(rawValue: qrs_EPOLLHUP)
    /// `EPOLLRDHUP`: the peer shut down its write side.
    static let readHangup = EpollEvents(rawValue: qrs_EPOLLRDHUP)
}

/// The 64-bit epoll user data: a registration ID in the high half, the fd in the low half.
///
/// The ID lets the loop tell an event for the current registration of an fd number from a stale
/// event queued for an earlier registration that was closed (and the number reused) earlier in the
/// same `epoll_wait` batch.
struct EpollUserData: Equatable {
    var fd: Int32
    var registrationID: UInt32

    init(fd: Int32, registrationID: UInt32) {
        self.fd = fd
        self.registrationID = registrationID
    }

    init(rawValue: UInt64) {
        self.fd = Int32(bitPattern: UInt32(truncatingIfNeeded: rawValue))
        self.registrationID = UInt32(truncatingIfNeeded: rawValue >> 32)
    }

    var rawValue: UInt64 {
        UInt64(registrationID) << 32 | UInt64(UInt32(bitPattern: fd))
    }
}

/// Receives readiness events for one registered fd. Always called on the loop thread.
protocol EpollHandler: AnyObject {
    func handleEvents(_ events: EpollEvents)
}

/// Book-keeping of live registrations, separate from the kernel calls so the stale-event rule can
/// be unit tested.
struct RegistrationTable {
    struct Entry {
        var id: UInt32
        var interest: EpollEvents
        var handler: any EpollHandler
    }

    private(set) var entries: [Int32: Entry] = [:]
    private var nextID: UInt32 = 1

    /// Records a new registration for `fd` and returns its user data.
    mutating func add(fd: Int32, interest: EpollEvents, handler: any EpollHandler) -> EpollUserData {
        precondition(entries[fd] == nil, "fd \(fd) registered twice")
        let id = nextID
        nextID &+= 1
        if nextID == 0 { nextID = 1 }
        entries[fd] = Entry(id: id, interest: interest, handler: handler)
        return EpollUserData(fd: fd, registrationID: id)
    }

    mutating func setInterest(fd: Int32, _ interest: EpollEvents) -> EpollUserData {
        guard var entry = entries[fd] else { preconditionFailure("fd \(fd) not registered") }
        entry.interest = interest
        entries[fd] = entry
        return EpollUserData(fd: fd, registrationID: entry.id)
    }

    @discardableResult
    mutating func remove(fd: Int32) -> Entry? {
        entries.removeValue(forKey: fd)
    }

    /// The live entry an event belongs to, or nil for an event from a stale registration.
    func lookup(_ data: EpollUserData) -> Entry? {
        guard let entry = entries[data.fd], entry.id == data.registrationID else { return nil }
        return entry
    }

    func interest(fd: Int32) -> EpollEvents? { entries[fd]?.interest }
}

/// Thin typed wrapper over the epoll calls.
enum Epoll {
    @inline(never)
    static func create() throws(SystemError) -> Int32 {
        try syscallValue("epoll_create1") { qrs_epoll_create() }
    }

    @inline(never)
    static func add(epfd: Int32, fd: Int32, events: EpollEvents, data: EpollUserData) throws(SystemError) {
        _ = try syscallValue("epoll_ctl(ADD)") {
            qrs_epoll_ctl(epfd, qrs_EPOLL_CTL_ADD, fd, events.rawValue, data.rawValue)
        }
    }

    @inline(never)
    static func modify(epfd: Int32, fd: Int32, events: EpollEvents, data: EpollUserData) throws(SystemError) {
        _ = try syscallValue("epoll_ctl(MOD)") {
            qrs_epoll_ctl(epfd, qrs_EPOLL_CTL_MOD, fd, events.rawValue, data.rawValue)
        }
    }

    @inline(never)
    static func delete(epfd: Int32, fd: Int32) throws(SystemError) {
        _ = try syscallValue("epoll_ctl(DEL)") { qrs_epoll_ctl(epfd, qrs_EPOLL_CTL_DEL, fd, 0, 0) }
    }
}
