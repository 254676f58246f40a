//! A call leg's RTP socket (issue 20 §6). A live call reads its socket once per 20 ms tick,
//! taking whatever the kernel queued since the last one (`drain`), instead of waking its task
//! for every packet: the socket then needs no place in the reactor's epoll set, so an arriving
//! packet costs no readiness event, no wake-up and no second (empty) read. Only a bridge that
//! relays each packet the moment it arrives (a transfer) waits on the socket: its first `recv`
//! registers it with the reactor, and from then on it is a plain tokio socket.
use std::io::ErrorKind;
use std::net::SocketAddr;

/// Most datagrams one `drain` takes (a flood waits in the kernel's buffer for the next tick
/// rather than holding the tick up).
pub const DRAIN_MAX: usize = 256;

/// The buffer a `drain` needs: one Ethernet MTU per datagram of a `recvmmsg` batch, so that no
/// media packet (172 bytes at 20 ms of G.711, 492 at 60 ms, more with header extensions) is
/// ever cut short.
pub const DRAIN_BUF: usize = batch::BATCH * 1500;

/// One leg's RTP socket: unregistered until something waits on it.
#[derive(Debug)]
pub struct RtpSocket {
    state: State,
}

#[derive(Debug)]
enum State {
    /// Non-blocking, not in the reactor: read at ticks only.
    Plain(std::net::UdpSocket),
    /// In the reactor (a transfer waited on it).
    Registered(tokio::net::UdpSocket),
    /// Registration failed: the transport is closed.
    Closed,
}

/// What one non-blocking read found.
enum Read {
    Datagram(usize, SocketAddr),
    Empty,
    Closed,
}

impl RtpSocket {
    /// Wraps a bound socket (made non-blocking here).
    pub fn new(socket: std::net::UdpSocket) -> std::io::Result<Self> {
        socket.set_nonblocking(true)?;
        Ok(Self {
            state: State::Plain(socket),
        })
    }

    /// The local address.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        match &self.state {
            State::Plain(s) => s.local_addr().ok(),
            State::Registered(s) => s.local_addr().ok(),
            State::Closed => None,
        }
    }

    fn try_read(&mut self, buf: &mut [u8]) -> Read {
        loop {
            let r = match &self.state {
                State::Plain(s) => s.recv_from(buf),
                State::Registered(s) => s.try_recv_from(buf),
                State::Closed => return Read::Closed,
            };
            return match r {
                Ok((n, from)) => Read::Datagram(n, from),
                Err(e) if e.kind() == ErrorKind::WouldBlock => Read::Empty,
                // ICMP port unreachable surfaces as an error on Linux: not fatal for RTP.
                Err(e) if e.kind() == ErrorKind::ConnectionRefused => continue,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "rtp socket receive failed");
                    Read::Closed
                }
            };
        }
    }

    /// Hands every datagram queued now to `f` (at most about `DRAIN_MAX`), without waiting;
    /// false once the socket is closed. Not yet registered, the socket is read with
    /// `recvmmsg`: `buf` is cut into `batch::BATCH` parts, one datagram each (longer ones are
    /// cut short: a media packet is 172 bytes), and one system call takes them all.
    pub fn drain(&mut self, buf: &mut [u8], mut f: impl FnMut(&[u8], SocketAddr)) -> bool {
        if let State::Plain(s) = &self.state {
            let mut taken = 0;
            for _ in 0..DRAIN_MAX {
                match batch::recv(s, buf, &mut f) {
                    Ok(k) => {
                        taken += k;
                        if k < batch::BATCH || taken >= DRAIN_MAX {
                            return true;
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
                    // ICMP port unreachable surfaces as an error on Linux: not fatal for RTP.
                    Err(e)
                        if matches!(
                            e.kind(),
                            ErrorKind::ConnectionRefused | ErrorKind::Interrupted
                        ) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "rtp socket receive failed");
                        return false;
                    }
                }
            }
            return true;
        }
        for _ in 0..DRAIN_MAX {
            match self.try_read(buf) {
                Read::Datagram(n, from) => f(&buf[..n], from),
                Read::Empty => return true,
                Read::Closed => return false,
            }
        }
        true
    }

    /// Waits for one datagram (registering the socket with the reactor the first time);
    /// `None` when closed.
    pub async fn recv(&mut self, buf: &mut [u8]) -> Option<(usize, SocketAddr)> {
        if matches!(self.state, State::Plain(_)) {
            let State::Plain(s) = std::mem::replace(&mut self.state, State::Closed) else {
                return None;
            };
            match tokio::net::UdpSocket::from_std(s) {
                Ok(s) => self.state = State::Registered(s),
                Err(e) => {
                    tracing::warn!(error = %e, "rtp socket could not be registered");
                    return None;
                }
            }
        }
        let State::Registered(s) = &self.state else {
            return None;
        };
        loop {
            match s.recv_from(buf).await {
                Ok(r) => return Some(r),
                Err(e) if e.kind() == ErrorKind::ConnectionRefused => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "rtp socket receive failed");
                    return None;
                }
            }
        }
    }

    /// Sends one datagram without waiting (RTP never queues behind a slow peer).
    pub fn send(&self, buf: &[u8], to: SocketAddr) {
        let r = match &self.state {
            State::Plain(s) => s.send_to(buf, to),
            State::Registered(s) => s.try_send_to(buf, to),
            State::Closed => return,
        };
        if let Err(e) = r {
            if e.kind() != ErrorKind::WouldBlock {
                tracing::trace!(error = %e, "rtp send failed");
            }
        }
    }
}

/// Several datagrams in one system call (`recvmmsg`, Linux).
#[cfg(target_os = "linux")]
mod batch {
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
    use std::os::fd::AsRawFd;

    /// Datagrams one call takes at most (a call's socket holds one or two per tick).
    pub const BATCH: usize = 4;

    /// Takes up to `BATCH` queued datagrams into `buf` without waiting and hands each to `f`;
    /// `WouldBlock` when none is queued.
    pub fn recv(
        sock: &std::net::UdpSocket,
        buf: &mut [u8],
        f: &mut impl FnMut(&[u8], SocketAddr),
    ) -> std::io::Result<usize> {
        let chunk = buf.len() / BATCH;
        let base = buf.as_mut_ptr();
        // SAFETY: all-zero is a valid value of these plain C structs.
        let mut addrs: [libc::sockaddr_storage; BATCH] = unsafe { std::mem::zeroed() };
        let mut iovs: [libc::iovec; BATCH] = unsafe { std::mem::zeroed() };
        let mut msgs: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
        for (i, (iov, (addr, msg))) in iovs
            .iter_mut()
            .zip(addrs.iter_mut().zip(msgs.iter_mut()))
            .enumerate()
        {
            // SAFETY: `i * chunk + chunk <= buf.len()`: the part lies inside `buf`.
            iov.iov_base = unsafe { base.add(i * chunk) }.cast();
            iov.iov_len = chunk;
            msg.msg_hdr.msg_name = (addr as *mut libc::sockaddr_storage).cast();
            msg.msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as u32;
            msg.msg_hdr.msg_iov = iov as *mut libc::iovec;
            msg.msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: every header points at its own address slot and at its own part of `buf`,
        // all alive and unaliased for the call; the kernel writes at most the lengths given.
        let n = unsafe {
            libc::recvmmsg(
                sock.as_raw_fd(),
                msgs.as_mut_ptr(),
                BATCH as u32,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let n = (n as usize).min(BATCH);
        for (i, (msg, addr)) in msgs.iter().zip(&addrs).take(n).enumerate() {
            if msg.msg_hdr.msg_flags & libc::MSG_TRUNC != 0 {
                // Longer than its part of the buffer (`DRAIN_BUF`: over an MTU): not media.
                tracing::trace!(
                    len = msg.msg_len,
                    "an oversized datagram on an RTP port dropped"
                );
                continue;
            }
            let len = (msg.msg_len as usize).min(chunk);
            if let Some(from) = socket_addr(addr) {
                f(&buf[i * chunk..i * chunk + len], from);
            }
        }
        Ok(n)
    }

    fn socket_addr(a: &libc::sockaddr_storage) -> Option<SocketAddr> {
        match i32::from(a.ss_family) {
            libc::AF_INET => {
                // SAFETY: the family says the storage holds a `sockaddr_in`.
                let a =
                    unsafe { &*(a as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
                Some(SocketAddr::V4(SocketAddrV4::new(
                    Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr)),
                    u16::from_be(a.sin_port),
                )))
            }
            libc::AF_INET6 => {
                // SAFETY: the family says the storage holds a `sockaddr_in6`.
                let a =
                    unsafe { &*(a as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
                Some(SocketAddr::V6(SocketAddrV6::new(
                    Ipv6Addr::from(a.sin6_addr.s6_addr),
                    u16::from_be(a.sin6_port),
                    a.sin6_flowinfo,
                    a.sin6_scope_id,
                )))
            }
            _ => None,
        }
    }
}

/// One datagram per system call where `recvmmsg` is not there.
#[cfg(not(target_os = "linux"))]
mod batch {
    use std::net::SocketAddr;

    pub const BATCH: usize = 1;

    pub fn recv(
        sock: &std::net::UdpSocket,
        buf: &mut [u8],
        f: &mut impl FnMut(&[u8], SocketAddr),
    ) -> std::io::Result<usize> {
        let (n, from) = sock.recv_from(buf)?;
        f(&buf[..n], from);
        Ok(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (RtpSocket, std::net::UdpSocket) {
        let a = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        (RtpSocket::new(a).unwrap(), b)
    }

    #[test]
    fn drain_takes_what_is_queued_and_never_waits() {
        let (mut a, b) = pair();
        let to = a.local_addr().unwrap();
        let mut buf = [0u8; 64];
        let mut got = vec![];
        assert!(a.drain(&mut buf, |d, _| got.push(d.to_vec())));
        assert!(got.is_empty());
        for i in 0..3u8 {
            b.send_to(&[i, i], to).unwrap();
        }
        // Loopback delivery is synchronous with the send.
        assert!(a.drain(&mut buf, |d, from| {
            assert_eq!(from, b.local_addr().unwrap());
            got.push(d.to_vec());
        }));
        assert_eq!(got, vec![vec![0, 0], vec![1, 1], vec![2, 2]]);
    }

    #[test]
    fn drain_takes_more_than_one_batch_and_ipv6_sources() {
        let (mut a, b) = pair();
        let to = a.local_addr().unwrap();
        for i in 0..11u8 {
            b.send_to(&[i; 172], to).unwrap();
        }
        let mut buf = [0u8; 2048];
        let mut got = vec![];
        assert!(a.drain(&mut buf, |d, _| got.push((d.len(), d[0]))));
        assert_eq!(got, (0..11u8).map(|i| (172, i)).collect::<Vec<_>>());
        let Ok(a6) = std::net::UdpSocket::bind("[::1]:0") else {
            return; // no IPv6 loopback here
        };
        let b6 = std::net::UdpSocket::bind("[::1]:0").unwrap();
        let mut a6 = RtpSocket::new(a6).unwrap();
        b6.send_to(&[5, 6], a6.local_addr().unwrap()).unwrap();
        let mut from6 = vec![];
        assert!(a6.drain(&mut buf, |d, from| from6.push((d.to_vec(), from))));
        assert_eq!(from6, vec![(vec![5, 6], b6.local_addr().unwrap())]);
    }

    #[test]
    fn media_packets_of_any_ptime_are_whole_and_an_oversized_datagram_is_dropped() {
        let (mut a, b) = pair();
        let to = a.local_addr().unwrap();
        // 60 ms of G.711 with a header extension, a datagram over an MTU, 20 ms.
        b.send_to(&[1; 12 + 16 + 480], to).unwrap();
        b.send_to(&[2; 1600], to).unwrap();
        b.send_to(&[3; 172], to).unwrap();
        let mut buf = vec![0u8; DRAIN_BUF];
        let mut got = vec![];
        assert!(a.drain(&mut buf, |d, _| got.push((d.len(), d[0]))));
        #[cfg(target_os = "linux")]
        assert_eq!(got, vec![(508, 1), (172, 3)]);
        #[cfg(not(target_os = "linux"))]
        assert_eq!(got, vec![(508, 1), (1600, 2), (172, 3)]);
    }

    #[tokio::test]
    async fn recv_registers_the_socket_and_drain_still_works_after() {
        let (mut a, b) = pair();
        let to = a.local_addr().unwrap();
        b.send_to(&[7], to).unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(a.recv(&mut buf).await.map(|r| r.0), Some(1));
        b.send_to(&[8, 8], to).unwrap();
        a.send(&[9], b.local_addr().unwrap());
        let mut got = vec![];
        // The reactor learns of the datagram asynchronously: wait for readiness first.
        for _ in 0..100 {
            a.drain(&mut buf, |d, _| got.push(d.to_vec()));
            if !got.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        assert_eq!(got, vec![vec![8, 8]]);
        let mut r = [0u8; 4];
        assert_eq!(b.recv_from(&mut r).unwrap().0, 1);
    }
}
