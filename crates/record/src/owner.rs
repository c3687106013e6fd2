//! Who is behind a local endpoint: process, user, group and container.
//!
//! These are attached to each local end of a flow (and, later, of protocol records). A remote
//! end has no owner. The values are those of the moment the socket was stamped in the kernel
//! (creation, connect, accept or first send): a later `setuid` or exec does not rewrite them.

use crate::Timestamp;
use serde::Serialize;
use std::sync::Arc;

/// The owner of one local endpoint.
///
/// Serialized flattened into the endpoint, so its fields read `source.process.pid`,
/// `source.user.name`, `source.container.id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Owner {
    /// The process that owns the socket.
    pub process: Arc<Process>,
    /// The user the process ran as when the socket was stamped.
    pub user: User,
    /// The primary group the process ran as when the socket was stamped.
    pub group: Group,
    /// The container the process runs in, when its cgroup path names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<Arc<Container>>,
    /// The Kubernetes pod the container belongs to, when its cgroup path is a kubelet pod path
    /// (ECS `orchestrator.*`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub orchestrator: Option<Arc<Orchestrator>>,
    /// The network namespace of the socket. flowsight field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub netns: Option<Netns>,
}

/// A network namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Netns {
    /// Its inode number in nsfs: what `ls -iL /proc/PID/ns/net` and `lsns` show, and what
    /// the kernel's `net->ns.inum` holds.
    pub id: u64,
}

/// The orchestrator that placed a container, as ECS `orchestrator.*`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Orchestrator {
    /// The orchestrator: `kubernetes` (the only one recognised from cgroup paths).
    #[serde(rename = "type")]
    pub kind: String,
    /// The pod's Kubernetes namespace, from the CRI runtime's answer (the pod sandbox's
    /// metadata, else the kubelet's `io.kubernetes.pod.namespace` label) when it came.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The resource the container belongs to: its pod.
    pub resource: OrchestratorResource,
}

/// `orchestrator.resource.*`: the pod.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrchestratorResource {
    /// The resource type: `pod`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The pod's name (`metadata.name`), from the same answer as `orchestrator.namespace`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The pod uid (`metadata.uid`), from the pod's cgroup.
    pub id: String,
    /// The pod's QoS class (`status.qosClass`: `Guaranteed`, `Burstable` or `BestEffort`),
    /// from the kubelet's cgroup layout. flowsight field.
    pub qos_class: String,
}

impl Orchestrator {
    /// A Kubernetes pod.
    pub fn kubernetes_pod(uid: &str, qos_class: &str) -> Orchestrator {
        Orchestrator {
            kind: "kubernetes".into(),
            namespace: None,
            resource: OrchestratorResource {
                kind: "pod".into(),
                name: None,
                id: uid.into(),
                qos_class: qos_class.into(),
            },
        }
    }
}

/// A process (a thread group), as ECS `process.*`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Process {
    /// Process id (thread group id) in the initial pid namespace: `process.pid`.
    pub pid: u32,
    /// Parent process id: `process.parent.pid` in ECS, flattened here to `process.ppid`
    /// as the issue tracker and peers (ps, tcplife) name it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ppid: Option<u32>,
    /// Process name: the base name of the executed file, not the 15-character `comm`.
    pub name: String,
    /// Absolute path of the executable, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executable: Option<String>,
    /// Command line, one element per argument (may be capped in length).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// When the process started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<Timestamp>,
    /// The process's cgroup (v2), when known. flowsight field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<Cgroup>,
}

/// A cgroup v2 directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cgroup {
    /// The cgroup id: the inode number of its directory in the cgroup2 file system.
    pub id: u64,
    /// Its path below the cgroup2 mount, starting with `/`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// A user, as ECS `user.*`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// Numeric user id, as a string as ECS specifies (`user.id` is a keyword).
    pub id: String,
    /// User name from the host's user database, when the id has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A group, as ECS `group.*`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    /// Numeric group id, as a string (`group.id` is a keyword in ECS).
    pub id: String,
    /// Group name from the host's group database, when the id has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A container, as ECS `container.*`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Container {
    /// Container id as the runtime names it (64 hex digits for docker, containerd and CRI-O).
    pub id: String,
    /// The runtime whose cgroup naming the id was parsed from.
    pub runtime: ContainerRuntime,
    /// Kubernetes pod uid, when the cgroup path is a kubelet pod path. flowsight field
    /// (ECS keeps Kubernetes metadata outside `container.*`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_uid: Option<String>,
    /// Name, image and labels from the runtime's API, when it answered (looked up once per
    /// container, off the capture path; absent until the answer came).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Arc<ContainerMeta>>,
}

/// What a container runtime's API says of a container (ECS `container.name`,
/// `container.image.name`, `container.labels`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ContainerMeta {
    /// The container's name (docker's, without the leading `/`; a Kubernetes container's
    /// name in its pod spec, from CRI).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The image it runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<ContainerImage>,
    /// Its labels.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub labels: std::collections::BTreeMap<String, String>,
}

/// `container.image.*`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContainerImage {
    /// The image as the container was created from it (`nginx:1.27`; CRI runtimes answer
    /// with the full reference, `docker.io/library/nginx:1.27`).
    pub name: String,
}

/// Container runtimes recognised from cgroup paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ContainerRuntime {
    /// Docker Engine (`docker-<id>.scope`, `/docker/<id>`).
    Docker,
    /// containerd, plain or through CRI (`cri-containerd-<id>.scope`).
    Containerd,
    /// CRI-O (`crio-<id>.scope`).
    #[serde(rename = "cri-o")]
    CriO,
    /// Podman (`libpod-<id>.scope`).
    Podman,
    /// A Kubernetes pod whose runtime could not be told from the path.
    Kubernetes,
    /// LXC (`/lxc/<name>`, `lxc.payload.<name>`).
    Lxc,
    /// systemd-nspawn, or another machine registered with systemd-machined
    /// (`machine.slice/machine-<name>.scope`).
    #[serde(rename = "systemd-nspawn")]
    SystemdNspawn,
}

impl Owner {
    pub(crate) fn example(pid: u32) -> Owner {
        Owner {
            process: Arc::new(Process {
                pid,
                ppid: Some(1),
                name: "curl".into(),
                executable: Some("/usr/bin/curl".into()),
                args: vec!["curl".into(), "http://example.com/".into()],
                start: Some(Timestamp(1_795_333_025_000_000_000)),
                cgroup: Some(Cgroup {
                    id: 4242,
                    path: Some(
                        "/system.slice/docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope"
                            .into(),
                    ),
                }),
            }),
            user: User {
                id: "1000".into(),
                name: Some("alice".into()),
            },
            group: Group {
                id: "1000".into(),
                name: Some("alice".into()),
            },
            container: Some(Arc::new(Container {
                id: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef".into(),
                runtime: ContainerRuntime::Docker,
                pod_uid: Some("6f5c8f6e-2f0a-4b8e-9d0e-7a3b2c1d0e9f".into()),
                meta: Some(Arc::new(ContainerMeta {
                    name: Some("web".into()),
                    image: Some(ContainerImage {
                        name: "nginx:1.27".into(),
                    }),
                    labels: [("com.docker.compose.service".to_string(), "web".to_string())]
                        .into(),
                })),
            })),
            orchestrator: Some(Arc::new(Orchestrator {
                namespace: Some("shop".into()),
                resource: OrchestratorResource {
                    name: Some("web-7d4b9c-x2x7q".into()),
                    ..Orchestrator::kubernetes_pod("6f5c8f6e-2f0a-4b8e-9d0e-7a3b2c1d0e9f", "Burstable")
                        .resource
                },
                ..Orchestrator::kubernetes_pod("6f5c8f6e-2f0a-4b8e-9d0e-7a3b2c1d0e9f", "Burstable")
            })),
            netns: Some(Netns { id: 4026531840 }),
        }
    }
}
