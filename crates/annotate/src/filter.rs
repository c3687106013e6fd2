//! Selecting packets by the owner of their local endpoint.

use crate::PacketOwner;

/// `--pid`, `--comm`, `--user`, `--container` and `--owner-netns`: values of one flag are alternatives, the
/// flags together must all match. With no flag every packet matches; with any, a packet
/// without an owner matches none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnerFilter {
    /// Process ids.
    pub pids: Vec<u32>,
    /// Process names: the full name, or the kernel's 15-character comm of it.
    pub comms: Vec<String>,
    /// User names or numeric ids.
    pub users: Vec<String>,
    /// Container ids or id prefixes (as `docker ps` abbreviates them), names (from the
    /// runtime's API; LXC and systemd-nspawn names are their ids) or Kubernetes pod uids: what
    /// `flowsight live --container` matches.
    pub containers: Vec<String>,
    /// Network namespace ids (nsfs inode numbers) of the owner's socket: what `flowsight live
    /// --owner-netns` matches.
    pub netns: Vec<u64>,
}

/// The kernel keeps 15 characters of a task's name.
const COMM_LEN: usize = 15;

impl OwnerFilter {
    /// True when no flag was given.
    pub fn is_empty(&self) -> bool {
        self.pids.is_empty()
            && self.comms.is_empty()
            && self.users.is_empty()
            && self.containers.is_empty()
            && self.netns.is_empty()
    }

    /// Whether a packet with this owner is kept.
    pub fn matches(&self, owner: Option<&PacketOwner>) -> bool {
        if self.is_empty() {
            return true;
        }
        let Some(o) = owner else { return false };
        let any = |list: &[String], f: &dyn Fn(&str) -> bool| {
            list.is_empty() || list.iter().any(|v| f(v))
        };
        (self.pids.is_empty() || self.pids.contains(&o.pid))
            && any(&self.comms, &|c| {
                c == o.name || (c.len() == COMM_LEN && o.name.starts_with(c))
            })
            && any(&self.users, &|u| u == o.uid || o.user.as_deref() == Some(u))
            && any(&self.containers, &|c| {
                !c.is_empty()
                    && o.container.as_ref().is_some_and(|ct| {
                        ct.id.starts_with(c)
                            || ct.name.as_deref() == Some(c)
                            || ct.pod_uid.as_deref() == Some(c)
                    })
            })
            && (self.netns.is_empty() || o.netns.is_some_and(|n| self.netns.contains(&n)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ContainerRef;

    fn owner() -> PacketOwner {
        PacketOwner {
            pid: 7,
            name: "a-very-long-program-name".into(),
            executable: None,
            args: vec![],
            uid: "1000".into(),
            user: Some("alice".into()),
            container: Some(ContainerRef {
                id: "0123456789ab".into(),
                runtime: "docker".into(),
                name: Some("web-1".into()),
                pod_uid: Some("pod-1".into()),
            }),
            netns: Some(4026531840),
        }
    }

    #[test]
    fn flags_and_together_values_or() {
        let o = owner();
        let f = |f: OwnerFilter| f.matches(Some(&o));
        assert!(f(OwnerFilter::default()));
        assert!(OwnerFilter::default().matches(None));
        assert!(f(OwnerFilter {
            pids: vec![3, 7],
            ..Default::default()
        }));
        assert!(!f(OwnerFilter {
            pids: vec![3],
            ..Default::default()
        }));
        assert!(f(OwnerFilter {
            comms: vec!["a-very-long-pro".into()],
            ..Default::default()
        }));
        assert!(!f(OwnerFilter {
            comms: vec!["a-very".into()],
            ..Default::default()
        }));
        assert!(f(OwnerFilter {
            users: vec!["1000".into()],
            ..Default::default()
        }));
        assert!(f(OwnerFilter {
            users: vec!["alice".into()],
            containers: vec!["0123".into()],
            ..Default::default()
        }));
        assert!(!f(OwnerFilter {
            users: vec!["alice".into()],
            containers: vec!["9".into()],
            ..Default::default()
        }));
        assert!(
            !OwnerFilter {
                pids: vec![7],
                ..Default::default()
            }
            .matches(None)
        );
        // A container's name and pod uid name it too (whole, not as prefixes), as with
        // `flowsight live --container`.
        for (want, kept) in [
            ("web-1", true),
            ("pod-1", true),
            ("web", false),
            ("pod", false),
        ] {
            let f = OwnerFilter {
                containers: vec![want.into()],
                ..Default::default()
            };
            assert_eq!(f.matches(Some(&o)), kept, "{want}");
        }
        // The socket's network namespace, alone or with another flag.
        let ns = |netns: Vec<u64>, pids: Vec<u32>| OwnerFilter {
            netns,
            pids,
            ..Default::default()
        };
        assert!(f(ns(vec![1, 4026531840], vec![])));
        assert!(!f(ns(vec![4026531841], vec![])));
        assert!(f(ns(vec![4026531840], vec![7])));
        assert!(!f(ns(vec![4026531840], vec![8])));
        let mut unknown = o.clone();
        unknown.netns = None;
        assert!(!ns(vec![4026531840], vec![]).matches(Some(&unknown)));
        assert!(!ns(vec![4026531840], vec![]).matches(None));
    }
}
