//! `--container` and `--owner-netns`: keep only the records of some containers or network
//! namespaces.
//!
//! A record is kept when one of its local ends has an owner that matches: a container whose id
//! starts with one of the `--container` values (docker's short ids are prefixes) or equals
//! it (names of LXC and systemd-nspawn containers, which are their ids), whose name (from the
//! runtime's API) or Kubernetes pod uid equals it; and a socket in one of the `--owner-netns` namespaces. Given both, an
//! end must match both. Stats records are always kept; records without owners are dropped.

use anyhow::{Context, Result, bail};
use flowsight_record::{Owner, Record};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Which owners' records to keep; the default keeps everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnerFilter {
    /// Container ids, id prefixes, names or pod uids.
    pub containers: Vec<String>,
    /// Network namespace ids (nsfs inode numbers).
    pub netns: Vec<u64>,
}

/// A namespace given as an inode number, a name under /run/netns or a path such as
/// /proc/PID/ns/net: its inode number.
pub fn netns_id(ns: &str) -> Result<u64> {
    if let Ok(id) = ns.parse::<u64>() {
        return Ok(id);
    }
    let path = if ns.contains('/') {
        Path::new(ns).to_path_buf()
    } else {
        Path::new("/run/netns").join(ns)
    };
    let meta = std::fs::metadata(&path)
        .with_context(|| format!("network namespace {ns}: {}", path.display()))?;
    // An nsfs file; a plain file or directory is a mistake.
    if meta.is_dir() || meta.len() != 0 {
        bail!("{} is not a network namespace", path.display());
    }
    Ok(meta.ino())
}

impl OwnerFilter {
    /// True when no filter is set.
    pub fn is_empty(&self) -> bool {
        self.containers.is_empty() && self.netns.is_empty()
    }

    fn owner_matches(&self, o: &Owner) -> bool {
        let container = self.containers.is_empty()
            || o.container.as_ref().is_some_and(|c| {
                self.containers.iter().any(|want| {
                    c.id.starts_with(want.as_str())
                        || c.pod_uid.as_deref() == Some(want.as_str())
                        || c.meta.as_ref().and_then(|m| m.name.as_deref()) == Some(want.as_str())
                })
            });
        let netns =
            self.netns.is_empty() || o.netns.as_ref().is_some_and(|n| self.netns.contains(&n.id));
        container && netns
    }

    fn any(&self, owners: [Option<&Owner>; 2]) -> bool {
        owners.into_iter().flatten().any(|o| self.owner_matches(o))
    }

    /// Whether to write `record`.
    pub fn keeps(&self, record: &Record) -> bool {
        if self.is_empty() || matches!(record, Record::Stats(_)) {
            return true;
        }
        self.any(record.owners())
    }

    /// Whether `--container` values are given: one may be a name, which a runtime's API
    /// gives some milliseconds after a new container's first record is made.
    pub fn wants_names(&self) -> bool {
        !self.containers.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowsight_record::{Container, ContainerRuntime, Netns};
    use std::sync::Arc;

    fn flow(container: Option<&str>, netns: Option<u64>) -> Record {
        let Record::Flow(mut f) = Record::examples().remove(0) else {
            unreachable!("the first example is a flow")
        };
        let mut o = f.source.owner.clone().unwrap();
        o.container = container.map(|id| {
            Arc::new(Container {
                id: id.into(),
                runtime: ContainerRuntime::Docker,
                pod_uid: Some("pod-1".into()),
                meta: None,
            })
        });
        o.netns = netns.map(|id| Netns { id });
        f.source.owner = Some(o);
        f.destination.owner = None;
        Record::Flow(f)
    }

    #[test]
    fn keeps_the_records_of_matching_owners() {
        let all = OwnerFilter::default();
        assert!(all.keeps(&flow(None, None)));
        let c = OwnerFilter {
            containers: vec!["0123456789ab".into()],
            netns: vec![],
        };
        assert!(c.keeps(&flow(Some(&"0123456789ab".repeat(5)), None)));
        assert!(!c.keeps(&flow(Some("ffff"), None)));
        assert!(!c.keeps(&flow(None, None)));
        let pod = OwnerFilter {
            containers: vec!["pod-1".into()],
            netns: vec![],
        };
        assert!(pod.keeps(&flow(Some("ffff"), None)));
        let ns = OwnerFilter {
            containers: vec![],
            netns: vec![7, 8],
        };
        assert!(ns.keeps(&flow(None, Some(8))));
        assert!(!ns.keeps(&flow(None, Some(9))));
        let both = OwnerFilter {
            containers: vec!["ab".into()],
            netns: vec![8],
        };
        assert!(both.keeps(&flow(Some("abcd"), Some(8))));
        assert!(!both.keeps(&flow(Some("abcd"), Some(9))));
        assert!(!both.keeps(&flow(Some("cd"), Some(8))));
        // Stats always pass; protocol records by their owners.
        let stats = Record::examples()
            .into_iter()
            .find(|r| r.kind() == "stats")
            .unwrap();
        assert!(both.keeps(&stats));
        let http = Record::examples()
            .into_iter()
            .find(|r| r.kind() == "http")
            .unwrap();
        assert!(!both.keeps(&http));
    }

    #[test]
    fn namespaces_are_named_by_number_name_or_path() {
        assert_eq!(netns_id("4026531840").unwrap(), 4026531840);
        let mine = std::fs::metadata("/proc/self/ns/net").unwrap().ino();
        assert_eq!(netns_id("/proc/self/ns/net").unwrap(), mine);
        assert!(netns_id("no-such-namespace-here").is_err());
        assert!(netns_id("/proc").is_err());
    }
}
