//! User and group names, cached.
//!
//! Names come from the C library's `getpwuid_r`/`getgrgid_r`, so every NSS source the host
//! is configured with (`/etc/passwd`, LDAP, sssd, systemd's dynamic users) answers, as it
//! would for `ls -l`. Names change rarely: a name found is kept for good (until the cache is
//! full and emptied), and a miss is kept for [`Users::MISS_TTL`] so an unknown id (a
//! container's user without a host account) costs one NSS call a minute, not one per flow,
//! while an account added later is still found. An NSS source on the network may block: the
//! cache is what keeps that off the per-flow path.

use flowsight_record::{Group, User};
use std::collections::HashMap;
use std::ffi::CStr;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A name look-up: Ok(None) when the id has no name.
pub type Lookup = Box<dyn Fn(u32) -> io::Result<Option<String>> + Send>;

/// Ids cached at most per kind; the cache is emptied when full.
const CAPACITY: usize = 1 << 16;
/// Largest buffer offered to getpwuid_r/getgrgid_r (a group with many members needs room).
const MAX_BUF: usize = 1 << 20;

#[derive(Debug, Clone)]
struct Cached {
    name: Option<Arc<str>>,
    at: Instant,
}

#[derive(Debug, Default)]
struct Cache {
    entries: HashMap<u32, Cached>,
}

impl Cache {
    fn get(&mut self, id: u32, ttl: Duration, lookup: &Lookup, kind: &str) -> Option<Arc<str>> {
        if let Some(c) = self.entries.get(&id)
            && (c.name.is_some() || c.at.elapsed() < ttl)
        {
            return c.name.clone();
        }
        let name = match lookup(id) {
            Ok(name) => name.map(Arc::from),
            Err(e) => {
                log::debug!("{kind} {id}: name look-up failed: {e}");
                None
            }
        };
        if self.entries.len() >= CAPACITY {
            self.entries.clear();
        }
        self.entries.insert(
            id,
            Cached {
                name: name.clone(),
                at: Instant::now(),
            },
        );
        name
    }
}

/// uid -> user name and gid -> group name, cached.
pub struct Users {
    users: Cache,
    groups: Cache,
    user_lookup: Lookup,
    group_lookup: Lookup,
    miss_ttl: Duration,
}

impl std::fmt::Debug for Users {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Users")
            .field("users", &self.users.entries.len())
            .field("groups", &self.groups.entries.len())
            .finish()
    }
}

impl Default for Users {
    fn default() -> Self {
        Users::system()
    }
}

impl Users {
    /// How long an id without a name is remembered as such.
    pub const MISS_TTL: Duration = Duration::from_secs(60);

    /// Names from the host's user and group databases (NSS).
    pub fn system() -> Users {
        Users::with_lookups(Box::new(nss_user_name), Box::new(nss_group_name))
    }

    /// Names from the given functions (tests, or a host whose databases are elsewhere).
    pub fn with_lookups(user_lookup: Lookup, group_lookup: Lookup) -> Users {
        Users {
            users: Cache::default(),
            groups: Cache::default(),
            user_lookup,
            group_lookup,
            miss_ttl: Self::MISS_TTL,
        }
    }

    /// Remember misses for `ttl` instead of [`Users::MISS_TTL`].
    pub fn with_miss_ttl(mut self, ttl: Duration) -> Users {
        self.miss_ttl = ttl;
        self
    }

    /// The name of user `uid`, if it has one.
    pub fn user_name(&mut self, uid: u32) -> Option<Arc<str>> {
        self.users.get(uid, self.miss_ttl, &self.user_lookup, "uid")
    }

    /// The name of group `gid`, if it has one.
    pub fn group_name(&mut self, gid: u32) -> Option<Arc<str>> {
        self.groups
            .get(gid, self.miss_ttl, &self.group_lookup, "gid")
    }

    /// `user.*` of a record.
    pub fn user(&mut self, uid: u32) -> User {
        User {
            id: uid.to_string(),
            name: self.user_name(uid).map(|n| n.to_string()),
        }
    }

    /// `group.*` of a record.
    pub fn group(&mut self, gid: u32) -> Group {
        Group {
            id: gid.to_string(),
            name: self.group_name(gid).map(|n| n.to_string()),
        }
    }
}

/// Call a `get*_r` function with a buffer grown until the entry fits; `Ok(None)` when there
/// is no entry. `call` returns the function's error number and whether an entry was found,
/// and the name's C string pointer (valid while the buffer lives).
fn with_buffer(
    mut call: impl FnMut(&mut [libc::c_char]) -> (libc::c_int, Option<*const libc::c_char>),
) -> io::Result<Option<String>> {
    let mut len = 1024;
    loop {
        let mut buf = vec![0 as libc::c_char; len];
        match call(&mut buf) {
            (0, Some(name)) => {
                // SAFETY: the name points into `buf`, NUL-terminated by the C library.
                let name = unsafe { CStr::from_ptr(name) };
                return Ok(Some(name.to_string_lossy().into_owned()));
            }
            // No entry. glibc returns 0; others return ENOENT/ESRCH/EBADF/EPERM for it.
            (0 | libc::ENOENT | libc::ESRCH | libc::EBADF | libc::EPERM, None) => return Ok(None),
            (libc::ERANGE, _) if len < MAX_BUF => len *= 4,
            (e, _) => return Err(io::Error::from_raw_os_error(e)),
        }
    }
}

/// A user name from NSS (`getpwuid_r`).
pub fn nss_user_name(uid: u32) -> io::Result<Option<String>> {
    with_buffer(|buf| {
        // SAFETY: passwd is plain data; getpwuid_r fills it with pointers into `buf`.
        let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call, and buf.len() is its size.
        let rc =
            unsafe { libc::getpwuid_r(uid, &mut pw, buf.as_mut_ptr(), buf.len(), &mut result) };
        let name = (!result.is_null() && !pw.pw_name.is_null()).then_some(pw.pw_name as *const _);
        (rc, name)
    })
}

/// A group name from NSS (`getgrgid_r`).
pub fn nss_group_name(gid: u32) -> io::Result<Option<String>> {
    with_buffer(|buf| {
        // SAFETY: group is plain data; getgrgid_r fills it with pointers into `buf`.
        let mut gr: libc::group = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::group = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call, and buf.len() is its size.
        let rc =
            unsafe { libc::getgrgid_r(gid, &mut gr, buf.as_mut_ptr(), buf.len(), &mut result) };
        let name = (!result.is_null() && !gr.gr_name.is_null()).then_some(gr.gr_name as *const _);
        (rc, name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn nss_names_root_and_misses_an_unused_id() {
        assert_eq!(nss_user_name(0).unwrap().as_deref(), Some("root"));
        assert_eq!(nss_group_name(0).unwrap().as_deref(), Some("root"));
        assert_eq!(nss_user_name(3_999_999_999).unwrap(), None);
        assert_eq!(nss_group_name(3_999_999_999).unwrap(), None);
    }

    #[test]
    fn caches_hits_and_misses() {
        static CALLS: AtomicUsize = AtomicUsize::new(0);
        let lookup: Lookup = Box::new(|uid| {
            CALLS.fetch_add(1, Ordering::Relaxed);
            Ok((uid == 1000).then(|| "alice".to_string()))
        });
        let mut users = Users::with_lookups(lookup, Box::new(|_| Ok(Some("staff".into()))));
        for _ in 0..10 {
            assert_eq!(users.user_name(1000).as_deref(), Some("alice"));
            assert_eq!(users.user_name(2000), None);
        }
        assert_eq!(CALLS.load(Ordering::Relaxed), 2);
        assert_eq!(
            users.user(1000),
            User {
                id: "1000".into(),
                name: Some("alice".into())
            }
        );
        assert_eq!(users.group(50).name.as_deref(), Some("staff"));
        assert_eq!(users.user(7).name, None);
    }

    #[test]
    fn misses_are_retried_after_their_ttl() {
        static CALLS: AtomicUsize = AtomicUsize::new(0);
        let lookup: Lookup = Box::new(|_| {
            CALLS.fetch_add(1, Ordering::Relaxed);
            Ok(None)
        });
        let mut users =
            Users::with_lookups(lookup, Box::new(|_| Ok(None))).with_miss_ttl(Duration::ZERO);
        users.user_name(5);
        users.user_name(5);
        assert_eq!(CALLS.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn a_failing_lookup_is_a_miss() {
        let mut users = Users::with_lookups(
            Box::new(|_| Err(io::Error::from_raw_os_error(libc::EIO))),
            Box::new(|_| Ok(None)),
        );
        assert_eq!(users.user_name(1), None);
    }
}
