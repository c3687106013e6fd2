//! Socket events from the attribution probes, as a live capture reads them (root; skips
//! loudly otherwise): a UDP socket's release is announced, so its owner can be forgotten.

mod common;

use common::root_or_skip;

use flowsight_abi::Event;
use flowsight_capture::{Capture, CaptureConfig};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

/// The kernel's cookie of a socket (`SO_COOKIE`), the number the events carry.
fn cookie(fd: &impl AsRawFd) -> u64 {
    let mut c = 0u64;
    let mut len = std::mem::size_of::<u64>() as libc::socklen_t;
    // SAFETY: getsockopt into a u64 of the length given.
    let r = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_COOKIE,
            (&mut c as *mut u64).cast(),
            &mut len,
        )
    };
    assert_eq!(r, 0, "SO_COOKIE: {}", std::io::Error::last_os_error());
    c
}

#[test]
fn a_released_udp_socket_is_announced() {
    if !root_or_skip("a_released_udp_socket_is_announced") {
        return;
    }
    let mut capture = Capture::start(&CaptureConfig {
        interfaces: vec!["lo".into()],
        ..CaptureConfig::default()
    })
    .expect("starting the capture");
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let udp_cookie = cookie(&udp);
    drop(udp);
    let (mut closes, mut created) = (0, 0);
    let deadline = Instant::now() + Duration::from_secs(5);
    while closes == 0 && Instant::now() < deadline {
        capture.drain_events(|e| match e {
            Ok(Event::SockClose(c)) if c.cookie == udp_cookie => closes += 1,
            Ok(Event::SockOwner(o)) if o.cookie == udp_cookie => created += 1,
            _ => {}
        });
        std::thread::sleep(Duration::from_millis(20));
    }
    // Anything late would have come by now.
    std::thread::sleep(Duration::from_millis(100));
    capture.drain_events(|e| {
        if let Ok(Event::SockClose(c)) = e
            && c.cookie == udp_cookie
        {
            closes += 1;
        }
    });
    assert_eq!(created, 1, "the socket's creation was stamped");
    assert_eq!(closes, 1, "one close event for the released UDP socket");
}
