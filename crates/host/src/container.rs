//! Container ids from cgroup paths.
//!
//! Every container runtime puts a container's processes in a cgroup of its own and names that
//! cgroup after the container id, each in its own way. A path is split into its segments and
//! read from the innermost outwards; the first segment that one of the rules below recognises
//! names the container, so a container inside a container (docker in docker, a kind node, a
//! pod inside an LXC guest) is reported as the inner one. The same rules serve cgroup v2 paths
//! (`/proc/PID/cgroup` line `0::`) and v1 paths (any other line), which runtimes name alike.
//!
//! | runtime | segment | example |
//! | --- | --- | --- |
//! | docker | `docker-<64 hex>[.scope]` (systemd driver), or `<64 hex>` below `docker` (cgroupfs) | `/system.slice/docker-<id>.scope`, `/docker/<id>` |
//! | containerd (CRI) | `cri-containerd-<64 hex>[.scope]` | `/kubepods.slice/.../cri-containerd-<id>.scope` |
//! | containerd (nerdctl) | `nerdctl-<64 hex>[.scope]` | `/system.slice/nerdctl-<id>.scope` |
//! | containerd (plain) | `/<namespace>/<id>` for the namespaces `default` and `k8s.io` only, directly below the root | `/default/redis1` |
//! | CRI-O | `crio-<64 hex>[.scope]`, not `crio-conmon-` | `/kubepods.slice/.../crio-<id>.scope` |
//! | podman | `libpod-<64 hex>[.scope]`, not `libpod-conmon-` | `/machine.slice/libpod-<id>.scope` |
//! | Kubernetes (cgroupfs driver) | `<64 hex>` below `pod<uid>` below `kubepods` | `/kubepods/burstable/pod<uid>/<id>` |
//! | LXC / LXD | `lxc.payload.<name>`, or `<name>` below `lxc` or `lxc.payload` | `/lxc.payload.web`, `/lxc/web` |
//! | systemd-nspawn (machined) | `machine-<name>.scope` below `machine.slice` | `/machine.slice/machine-web.scope` |
//! | systemd driver, unconverted (cgroup v1 `name=systemd`, containerd.service delegation) | `<slice>:<prefix>:<64 hex>` with the prefixes above without their dash (`cri-containerd`, `crio`, `docker`, `libpod`) | `/system.slice/containerd.service/kubepods-besteffort-pod<uid>.slice:cri-containerd:<id>` |
//!
//! Plain containerd is the ambiguous one: `ctr run` puts a container in `/<namespace>/<id>`,
//! and any cgroup two levels deep looks like that. Only the two namespaces containerd itself
//! uses by default (`default` for `ctr`/`nerdctl`, `k8s.io` for the CRI plugin) are taken, and
//! only directly below the cgroup root where containerd puts them; anything else under
//! `containerd.service` is containerd's own processes (the shims), not a container.
//!
//! When the container's parent segment is a Kubernetes pod (`pod<uid>` with the cgroupfs
//! driver, `kubepods[-<qos>]-pod<uid>.slice` with the systemd driver, whose escaping turns the
//! uid's dashes into underscores), the pod uid is reported with its dashes restored. With the
//! cgroupfs driver the runtime cannot be told from the path and is reported as
//! [`ContainerRuntime::Kubernetes`]. The pod and its QoS class (from the kubelet's layout:
//! directly below `kubepods` is Guaranteed, below `burstable`/`besteffort` the others) are the
//! [`Orchestrator`] of the container, ECS `orchestrator.*`.
//!
//! systemd scopes and services that are not containers (`/system.slice/nginx.service`, a login
//! session's `session-3.scope`) name no container: their path is in `process.cgroup.path`.

use flowsight_record::{Container, ContainerRuntime, Orchestrator};

/// Runtimes whose container cgroup is `<prefix><64 hex>`, optionally followed by `.scope`.
/// Prefixes that name a runtime's helper process instead of the container come first and
/// stop the match for that segment.
const SCOPE_PREFIXES: &[(&str, Option<ContainerRuntime>)] = &[
    // conmon, the container monitor of CRI-O and podman, lives beside the container.
    ("crio-conmon-", None),
    ("libpod-conmon-", None),
    ("docker-", Some(ContainerRuntime::Docker)),
    ("cri-containerd-", Some(ContainerRuntime::Containerd)),
    ("nerdctl-", Some(ContainerRuntime::Containerd)),
    ("crio-", Some(ContainerRuntime::CriO)),
    ("libpod-", Some(ContainerRuntime::Podman)),
];

/// containerd namespaces whose `/<namespace>/<id>` cgroups are taken as containers.
const CONTAINERD_NAMESPACES: &[&str] = &["default", "k8s.io"];

/// Kubernetes pod QoS class, from the kubelet's cgroup layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QosClass {
    /// Requests equal limits for every container: the pod cgroup is directly below `kubepods`.
    Guaranteed,
    /// Below `kubepods/burstable` or `kubepods-burstable.slice`.
    Burstable,
    /// Below `kubepods/besteffort` or `kubepods-besteffort.slice`.
    BestEffort,
}

impl QosClass {
    /// The name Kubernetes uses (`status.qosClass`).
    pub fn as_str(self) -> &'static str {
        match self {
            QosClass::Guaranteed => "Guaranteed",
            QosClass::Burstable => "Burstable",
            QosClass::BestEffort => "BestEffort",
        }
    }
}

/// The container a cgroup path belongs to, from the innermost segment a runtime's naming
/// recognises; `None` for host processes (and for paths no rule knows).
pub fn container_from_cgroup_path(path: &str) -> Option<Container> {
    container_and_pod(path).map(|(c, _)| c)
}

/// The container a cgroup path belongs to and, when the container is in a Kubernetes pod, the
/// pod as ECS `orchestrator.*` (uid and QoS class).
pub fn container_and_pod(path: &str) -> Option<(Container, Option<Orchestrator>)> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    (0..segments.len()).rev().find_map(|i| {
        if let Some((slice, id, runtime)) = colon_segment(segments[i]) {
            // The pod is the slice named in the segment itself.
            return Some(with_pod(id, runtime, pod_segment(&[slice], 0)));
        }
        let (id, runtime) = container_segment(&segments, i)?;
        let pod = i.checked_sub(1).and_then(|p| pod_segment(&segments, p));
        if runtime == ContainerRuntime::SystemdNspawn {
            return Some(with_pod(&unescape_systemd(id), runtime, pod));
        }
        Some(with_pod(id, runtime, pod))
    })
}

fn with_pod(
    id: &str,
    runtime: ContainerRuntime,
    pod: Option<Pod>,
) -> (Container, Option<Orchestrator>) {
    let container = Container {
        id: id.to_string(),
        runtime,
        pod_uid: pod.as_ref().map(|p| p.uid.clone()),
        meta: None,
    };
    let orchestrator = pod.map(|p| Orchestrator::kubernetes_pod(&p.uid, p.qos.as_str()));
    (container, orchestrator)
}

/// The systemd cgroup driver's `<slice>:<prefix>:<id>` form, which reaches the file system
/// unconverted where systemd does not manage the cgroup (v1 hierarchies, containerd's own
/// delegated subtree): the slice, the id and the runtime.
fn colon_segment(segment: &str) -> Option<(&str, &str, ContainerRuntime)> {
    let mut parts = segment.splitn(3, ':');
    let (slice, prefix, id) = (parts.next()?, parts.next()?, parts.next()?);
    let runtime = match prefix {
        "cri-containerd" | "nerdctl" => ContainerRuntime::Containerd,
        "crio" => ContainerRuntime::CriO,
        "docker" => ContainerRuntime::Docker,
        "libpod" => ContainerRuntime::Podman,
        _ => return None,
    };
    (slice.ends_with(".slice") && is_hex64(id)).then_some((slice, id, runtime))
}

/// The QoS class of the innermost Kubernetes pod on a cgroup path, if there is one.
pub fn k8s_qos_class(path: &str) -> Option<QosClass> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    (0..segments.len())
        .rev()
        .find_map(|i| pod_segment(&segments, i))
        .map(|pod| pod.qos)
}

/// Whether segment `i` names a container; its id and runtime when it does.
fn container_segment<'a>(segments: &[&'a str], i: usize) -> Option<(&'a str, ContainerRuntime)> {
    let segment = segments[i];
    let parent = i.checked_sub(1).map(|p| segments[p]);

    let bare = segment.strip_suffix(".scope").unwrap_or(segment);
    for &(prefix, runtime) in SCOPE_PREFIXES {
        if let Some(id) = bare.strip_prefix(prefix) {
            return match runtime {
                Some(runtime) if is_hex64(id) => Some((id, runtime)),
                _ => None,
            };
        }
    }
    if let Some(name) = segment.strip_prefix("lxc.payload.") {
        return (!name.is_empty()).then_some((name, ContainerRuntime::Lxc));
    }
    if parent == Some("machine.slice")
        && let Some(name) = bare.strip_prefix("machine-")
        && segment.ends_with(".scope")
        && !name.is_empty()
    {
        // systemd escapes the name's dashes (`machine-my\x2dweb.scope`): unescaped by the
        // caller, so the id is the machine's name as machinectl shows it.
        return Some((name, ContainerRuntime::SystemdNspawn));
    }
    match parent {
        Some("lxc" | "lxc.payload") => return Some((segment, ContainerRuntime::Lxc)),
        Some("docker") if is_hex64(segment) => return Some((segment, ContainerRuntime::Docker)),
        _ => {}
    }
    if is_hex64(segment) && i >= 1 && pod_segment(segments, i - 1).is_some() {
        return Some((segment, ContainerRuntime::Kubernetes));
    }
    if i == 1 && CONTAINERD_NAMESPACES.contains(&segments[0]) && is_containerd_id(segment) {
        return Some((segment, ContainerRuntime::Containerd));
    }
    None
}

/// A Kubernetes pod cgroup segment.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pod {
    /// The pod uid with dashes.
    uid: String,
    qos: QosClass,
}

/// Whether segment `i` is a pod's cgroup, under either kubelet cgroup driver.
fn pod_segment(segments: &[&str], i: usize) -> Option<Pod> {
    let segment = segments[i];
    if let Some(slice) = segment.strip_suffix(".slice") {
        // systemd driver: [<prefix>-]kubepods[-<qos>]-pod<uid>.slice, where a kubelet with a
        // --cgroup-root adds the prefix (kind: kubelet-kubepods-...).
        let (left, uid) = slice.rsplit_once("-pod")?;
        let qos = if left.ends_with("kubepods-burstable") {
            QosClass::Burstable
        } else if left.ends_with("kubepods-besteffort") {
            QosClass::BestEffort
        } else if left.ends_with("kubepods") {
            QosClass::Guaranteed
        } else {
            return None;
        };
        let uid = pod_uid(uid, '_')?;
        return Some(Pod { uid, qos });
    }
    // cgroupfs driver: kubepods[/<qos>]/pod<uid>.
    let uid = pod_uid(segment.strip_prefix("pod")?, '-')?;
    let qos = match i.checked_sub(1).map(|p| segments[p]) {
        Some("burstable") => QosClass::Burstable,
        Some("besteffort") => QosClass::BestEffort,
        Some(p) if p.starts_with("kubepods") => QosClass::Guaranteed,
        _ => return None,
    };
    if !segments[..i].iter().any(|s| s.starts_with("kubepods")) {
        return None;
    }
    Some(Pod { uid, qos })
}

/// A pod uid as it appears in a path, with `sep` where the uid has dashes: a UUID (36
/// characters) or, for static pods, the 32 hex digits of a hash. Returned with dashes.
fn pod_uid(raw: &str, sep: char) -> Option<String> {
    let ok_len = raw.len() == 36 || raw.len() == 32;
    let ok_chars = raw.chars().all(|c| c.is_ascii_hexdigit() || c == sep);
    (ok_len && ok_chars && !raw.is_empty()).then(|| raw.replace(sep, "-"))
}

/// A systemd unit name part with its `\xHH` escapes decoded (`my\x2dweb` is `my-web`).
fn unescape_systemd(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i..i + 4)
            .filter(|w| w[0] == b'\\' && w[1] == b'x')
            .and_then(|w| std::str::from_utf8(&w[2..]).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(c) => {
                out.push(c);
                i += 4;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A docker/containerd/CRI-O/podman id: 64 lowercase hex digits.
fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// containerd's identifier rule: alphanumeric runs joined by single `.`, `_` or `-`, at most 76
/// characters.
fn is_containerd_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 76
        && s.split(['.', '_', '-'])
            .all(|run| !run.is_empty() && run.bytes().all(|b| b.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ContainerRuntime::*;

    const ID: &str = "7dea796eb5d6826a85978fa316612874aa3d576ac576495bed83d77fbc9dc744";
    const ID2: &str = "0ba8ac17e4e7a31fb82279503552fe94e64bab4745bf6fd2ff231e7c8ca8bed0";
    const POD: &str = "55c6c714-b240-4dec-9a45-57b61696ab6e";
    const POD_: &str = "55c6c714_b240_4dec_9a45_57b61696ab6e";
    const STATIC_POD: &str = "8daa50c3a64c9ff60bb9eab7b44b56fd";

    /// (path, expected (id, runtime, pod uid))
    type Case = (
        String,
        Option<(&'static str, ContainerRuntime, Option<&'static str>)>,
    );

    fn cases() -> Vec<Case> {
        vec![
            // docker, systemd driver (v2 and v1 name=systemd), cgroupfs driver, nested.
            (format!("/system.slice/docker-{ID}.scope"), Some((ID, Docker, None))),
            (format!("/docker/{ID}"), Some((ID, Docker, None))),
            (
                format!("/anything/system.slice/docker-{ID}.scope"),
                Some((ID, Docker, None)),
            ),
            (
                format!("/user.slice/user-1000.slice/user@1000.service/user.slice/docker-{ID}.scope"),
                Some((ID, Docker, None)),
            ),
            // docker in docker: the inner container.
            (format!("/docker/{ID2}/docker/{ID}"), Some((ID, Docker, None))),
            // A process in a sub-cgroup of a container (systemd inside, crun's /container).
            (
                format!("/system.slice/docker-{ID}.scope/system.slice/cron.service"),
                Some((ID, Docker, None)),
            ),
            // containerd through CRI, systemd driver; burstable, besteffort, guaranteed pods.
            (
                format!(
                    "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{POD_}.slice/cri-containerd-{ID}.scope"
                ),
                Some((ID, Containerd, Some(POD))),
            ),
            (
                format!(
                    "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{POD_}.slice/cri-containerd-{ID}.scope"
                ),
                Some((ID, Containerd, Some(POD))),
            ),
            (
                format!("/kubepods.slice/kubepods-pod{POD_}.slice/cri-containerd-{ID}.scope"),
                Some((ID, Containerd, Some(POD))),
            ),
            // A static pod: its uid is a 32-digit hash.
            (
                format!(
                    "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{STATIC_POD}.slice/cri-containerd-{ID}.scope"
                ),
                Some((ID, Containerd, Some(STATIC_POD))),
            ),
            // CRI with a cgroup parent outside kubepods.
            (
                format!("/system.slice/system-getty.slice/cri-containerd-{ID}.scope"),
                Some((ID, Containerd, None)),
            ),
            // kind: a Kubernetes node in a docker container, kubelet with --cgroup-root.
            (
                format!(
                    "/system.slice/docker-{ID2}.scope/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod{POD_}.slice/cri-containerd-{ID}.scope"
                ),
                Some((ID, Containerd, Some(POD))),
            ),
            // Kubernetes, cgroupfs driver: runtime unknown.
            (format!("/kubepods/burstable/pod{POD}/{ID}"), Some((ID, Kubernetes, Some(POD)))),
            (format!("/kubepods/besteffort/pod{POD}/{ID}"), Some((ID, Kubernetes, Some(POD)))),
            (format!("/kubepods/pod{POD}/{ID}"), Some((ID, Kubernetes, Some(POD)))),
            // The pod cgroup itself is no container.
            (format!("/kubepods/burstable/pod{POD}"), None),
            (
                "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod55c6c714_b240_4dec_9a45_57b61696ab6e.slice".into(),
                None,
            ),
            // minikube in docker, CRI-O inside.
            (
                format!(
                    "/docker/{ID2}/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{POD_}.slice/crio-{ID}.scope"
                ),
                Some((ID, CriO, Some(POD))),
            ),
            // CRI-O cgroupfs driver, and its container monitor (not the container).
            (format!("/kubepods/burstable/pod{POD}/crio-{ID}"), Some((ID, CriO, Some(POD)))),
            (
                format!(
                    "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{POD_}.slice/crio-conmon-{ID}.scope"
                ),
                None,
            ),
            // crun's split: the payload runs in a `container` sub-cgroup of the scope.
            (
                format!(
                    "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{POD_}.slice/crio-{ID}.scope/container"
                ),
                Some((ID, CriO, Some(POD))),
            ),
            // podman: rootful, rootless, in a pod, cgroupfs; conmon is not the container.
            (format!("/machine.slice/libpod-{ID}.scope"), Some((ID, Podman, None))),
            (
                format!("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID}.scope"),
                Some((ID, Podman, None)),
            ),
            (
                format!(
                    "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID}.scope/container"
                ),
                Some((ID, Podman, None)),
            ),
            (
                format!("/machine.slice/machine-libpod_pod_{ID2}.slice/libpod-{ID}.scope"),
                Some((ID, Podman, None)),
            ),
            (format!("/libpod_parent/libpod-{ID}"), Some((ID, Podman, None))),
            (format!("/machine.slice/libpod-conmon-{ID}.scope"), None),
            (
                format!("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-conmon-{ID}.scope"),
                None,
            ),
            ("/libpod_parent/conmon".into(), None),
            // Plain containerd: ctr/nerdctl namespaces at the root, nerdctl's systemd scope.
            ("/default/redis1".into(), Some(("redis1", Containerd, None))),
            (format!("/k8s.io/{ID}"), Some((ID, Containerd, None))),
            (format!("/system.slice/nerdctl-{ID}.scope"), Some((ID, Containerd, None))),
            // ...but not an arbitrary two-level cgroup, nor a namespace below the root.
            ("/mygroup/worker1".into(), None),
            ("/system.slice/default/redis1".into(), None),
            ("/system.slice/containerd.service".into(), None),
            // LXC 4+/LXD, LXC 3, LXC 1-2 (v1), its monitor, a docker container in an LXC guest.
            ("/lxc.payload.web01".into(), Some(("web01", Lxc, None))),
            ("/lxc.payload.web01/system.slice/nginx.service".into(), Some(("web01", Lxc, None))),
            ("/lxc.payload/web01".into(), Some(("web01", Lxc, None))),
            ("/lxc/web01".into(), Some(("web01", Lxc, None))),
            ("/lxc.monitor.web01".into(), None),
            (
                format!("/lxc.payload.web01/system.slice/docker-{ID}.scope"),
                Some((ID, Docker, None)),
            ),
            // The systemd driver's unconverted form: containerd's delegated subtree (v1
            // name=systemd and v2 alike), CRI-O, docker.
            (
                format!(
                    "/system.slice/containerd.service/kubepods-besteffort-pod{POD_}.slice:cri-containerd:{ID}"
                ),
                Some((ID, Containerd, Some(POD))),
            ),
            (
                format!("/kubepods-burstable-pod{POD_}.slice:crio:{ID}"),
                Some((ID, CriO, Some(POD))),
            ),
            (format!("/system.slice:docker:{ID}"), Some((ID, Docker, None))),
            (format!("/system.slice/system.slice:docker:{ID}"), Some((ID, Docker, None))),
            (format!("/system.slice/x.slice:other:{ID}"), None),
            (format!("/system.slice/x.slice:crio:{ID}x"), None),
            // systemd-nspawn machines, escaped names; podman's pod slice in machine.slice is not.
            ("/machine.slice/machine-web01.scope".into(), Some(("web01", SystemdNspawn, None))),
            (
                "/machine.slice/machine-my\\x2dweb.scope/payload".into(),
                Some(("my-web", SystemdNspawn, None)),
            ),
            (format!("/machine.slice/machine-libpod_pod_{ID2}.slice"), None),
            ("/system.slice/machine-web01.scope".into(), None),
            // systemd services and scopes are not containers.
            ("/system.slice/nginx.service".into(), None),
            ("/system.slice/containerd.service".into(), None),
            ("/system.slice/containerd.service/containerd-shim".into(), None),
            // Host processes and look-alikes.
            ("/".into(), None),
            ("".into(), None),
            ("/init.scope".into(), None),
            ("/user.slice/user-1000.slice/session-3.scope".into(), None),
            ("/system.slice/docker.service".into(), None),
            ("/system.slice/docker-deadbeef.scope".into(), None),
            (format!("/system.slice/docker-{}.scope", ID.to_uppercase()), None),
            (format!("/docker/{ID}extra"), None),
            (format!("/notdocker/{ID}"), None),
            (format!("/pod{POD}/{ID}"), None),
        ]
    }

    #[test]
    fn recognises_each_runtime_innermost_first() {
        for (path, want) in cases() {
            let got = container_from_cgroup_path(&path);
            let got = got
                .as_ref()
                .map(|c| (c.id.as_str(), c.runtime, c.pod_uid.as_deref()));
            assert_eq!(got, want, "path {path}");
        }
    }

    #[test]
    fn tells_the_qos_class_of_kubernetes_paths() {
        let cases = [
            (
                format!(
                    "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{POD_}.slice/cri-containerd-{ID}.scope"
                ),
                Some(QosClass::Burstable),
            ),
            (
                format!(
                    "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{POD_}.slice/crio-{ID}.scope"
                ),
                Some(QosClass::BestEffort),
            ),
            (
                format!("/kubepods.slice/kubepods-pod{POD_}.slice/cri-containerd-{ID}.scope"),
                Some(QosClass::Guaranteed),
            ),
            (
                format!("/kubepods/burstable/pod{POD}/{ID}"),
                Some(QosClass::Burstable),
            ),
            (
                format!("/kubepods/besteffort/pod{POD}/{ID}"),
                Some(QosClass::BestEffort),
            ),
            (
                format!("/kubepods/pod{POD}/{ID}"),
                Some(QosClass::Guaranteed),
            ),
            (
                format!("/kubepods/burstable/pod{POD}"),
                Some(QosClass::Burstable),
            ),
            (format!("/system.slice/docker-{ID}.scope"), None),
            ("/".into(), None),
        ];
        for (path, want) in cases {
            assert_eq!(k8s_qos_class(&path), want, "path {path}");
        }
        assert_eq!(QosClass::BestEffort.as_str(), "BestEffort");
    }

    #[test]
    fn a_pod_container_names_its_orchestrator_with_the_qos_class() {
        let (c, o) = container_and_pod(&format!(
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{POD_}.slice/cri-containerd-{ID}.scope"
        ))
        .unwrap();
        assert_eq!(c.pod_uid.as_deref(), Some(POD));
        let o = o.unwrap();
        assert_eq!(
            (
                o.kind.as_str(),
                o.resource.kind.as_str(),
                o.resource.id.as_str()
            ),
            ("kubernetes", "pod", POD)
        );
        assert_eq!(o.resource.qos_class, "Burstable");
        for (path, qos) in [
            (format!("/kubepods/pod{POD}/{ID}"), "Guaranteed"),
            (
                format!("/kubepods/besteffort/pod{POD}/crio-{ID}"),
                "BestEffort",
            ),
            (
                format!(
                    "/system.slice/containerd.service/kubepods-besteffort-pod{POD_}.slice:cri-containerd:{ID}"
                ),
                "BestEffort",
            ),
            (
                format!("/kubepods.slice/kubepods-pod{POD_}.slice/crio-{ID}.scope"),
                "Guaranteed",
            ),
        ] {
            let (_, o) = container_and_pod(&path).unwrap();
            assert_eq!(o.unwrap().resource.qos_class, qos, "{path}");
        }
        let (_, o) = container_and_pod(&format!("/system.slice/docker-{ID}.scope")).unwrap();
        assert!(o.is_none(), "no pod, no orchestrator");
    }

    #[test]
    fn unescapes_systemd_names() {
        assert_eq!(unescape_systemd("my\\x2dweb"), "my-web");
        assert_eq!(unescape_systemd("a\\x2"), "a\\x2");
        assert_eq!(unescape_systemd("plain"), "plain");
    }

    #[test]
    fn containerd_ids_follow_containerds_rule() {
        assert!(is_containerd_id("redis1"));
        assert!(is_containerd_id("my.app_v2-blue"));
        assert!(!is_containerd_id("-x"));
        assert!(!is_containerd_id("a..b"));
        assert!(!is_containerd_id("a b"));
        assert!(!is_containerd_id(&"a".repeat(77)));
    }
}
