//! The owner of a packet's local endpoint, as a packet annotation needs it.

use flowsight_record::Owner;
use serde_json::Value;

/// The container a process runs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerRef {
    /// Container id as the runtime names it.
    pub id: String,
    /// The runtime (`docker`, `containerd`, ...).
    pub runtime: String,
    /// The name the runtime's API gave (docker, podman), when it answered.
    pub name: Option<String>,
    /// The Kubernetes pod uid, when the container is in a pod.
    pub pod_uid: Option<String>,
}

/// Who is behind a packet's local endpoint: the parts of a record's [`Owner`] that go into a
/// packet annotation, built from a live owner or read back from a record log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketOwner {
    /// Process id (initial pid namespace).
    pub pid: u32,
    /// Process name: the base name of the executable, not the 15-character comm.
    pub name: String,
    /// Absolute path of the executable, when known.
    pub executable: Option<String>,
    /// Command line, when known.
    pub args: Vec<String>,
    /// Numeric user id.
    pub uid: String,
    /// User name, when the id has one.
    pub user: Option<String>,
    /// The container, when the cgroup names one.
    pub container: Option<ContainerRef>,
    /// The network namespace of the socket (its nsfs inode number, `netns.id`), when known.
    pub netns: Option<u64>,
}

impl From<&Owner> for PacketOwner {
    fn from(o: &Owner) -> PacketOwner {
        PacketOwner {
            pid: o.process.pid,
            name: o.process.name.clone(),
            executable: o.process.executable.clone(),
            args: o.process.args.clone(),
            uid: o.user.id.clone(),
            user: o.user.name.clone(),
            container: o.container.as_ref().map(|c| ContainerRef {
                id: c.id.clone(),
                runtime: serde_json::to_value(c.runtime)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                name: c.meta.as_ref().and_then(|m| m.name.clone()),
                pod_uid: c.pod_uid.clone(),
            }),
            netns: o.netns.as_ref().map(|n| n.id),
        }
    }
}

impl PacketOwner {
    /// The owner of one end of a flow record, from its endpoint object (`source` or
    /// `destination` of a `flowsight live` record); None when that end has no process.
    pub fn from_endpoint_json(end: &Value) -> Option<PacketOwner> {
        let process = end.get("process")?;
        let pid = u32::try_from(process.get("pid")?.as_u64()?).ok()?;
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
        Some(PacketOwner {
            pid,
            name: text(process.get("name")).unwrap_or_default(),
            executable: text(process.get("executable")),
            args: process
                .get("args")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
            uid: text(end.pointer("/user/id")).unwrap_or_default(),
            user: text(end.pointer("/user/name")),
            container: text(end.pointer("/container/id")).map(|id| ContainerRef {
                id,
                runtime: text(end.pointer("/container/runtime")).unwrap_or_default(),
                name: text(end.pointer("/container/name")),
                pod_uid: text(end.pointer("/container/pod_uid")),
            }),
            netns: end.pointer("/netns/id").and_then(Value::as_u64),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_endpoint_of_a_record() {
        let end = serde_json::json!({
            "ip": "10.0.0.1", "port": 40000,
            "process": {"pid": 77, "name": "curl", "executable": "/usr/bin/curl",
                        "args": ["curl", "-s", "http://x/"]},
            "user": {"id": "1000", "name": "alice"},
            "container": {"id": "abc", "runtime": "docker", "name": "web-1",
                          "pod_uid": "6f5c8f6e-2f0a-4b8e-9d0e-7a3b2c1d0e9f"},
            "netns": {"id": 4026532281u64}
        });
        let o = PacketOwner::from_endpoint_json(&end).unwrap();
        assert_eq!((o.pid, o.name.as_str()), (77, "curl"));
        assert_eq!(o.args, ["curl", "-s", "http://x/"]);
        assert_eq!(o.user.as_deref(), Some("alice"));
        assert_eq!(o.netns, Some(4026532281));
        let c = o.container.unwrap();
        assert_eq!(c.runtime, "docker");
        assert_eq!(c.name.as_deref(), Some("web-1"));
        assert_eq!(
            c.pod_uid.as_deref(),
            Some("6f5c8f6e-2f0a-4b8e-9d0e-7a3b2c1d0e9f")
        );
        assert!(PacketOwner::from_endpoint_json(&serde_json::json!({"ip": "1.1.1.1"})).is_none());
    }
}
