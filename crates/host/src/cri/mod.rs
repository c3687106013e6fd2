//! Kubernetes container and pod names from the CRI runtime service (containerd, CRI-O).
//!
//! The kubelet's runtime serves the CRI `runtime.v1.RuntimeService` over gRPC on a unix
//! socket (containerd: `/run/containerd/containerd.sock`, CRI-O: `/var/run/crio/crio.sock`).
//! The first socket whose runtime answers `Version` is used (a containerd without its CRI
//! plugin, such as docker's, answers Unimplemented and is passed over). For a container id
//! seen in a pod's cgroup path, [`CriApi`] asks, on the look-up thread of
//! [`crate::enrich::Lookups`] (which caches the answer per container):
//!
//! - `ContainerStatus` (verbose): the container's name in the pod spec, its image and labels,
//!   and, in `info["info"]`, the id of its pod sandbox;
//! - `PodSandboxStatus` of that sandbox: the pod's name and namespace, asked once per pod.
//!
//! A runtime that gives no sandbox id, or a sandbox it cannot find, leaves the pod's name and
//! namespace to the kubelet's container labels (`io.kubernetes.pod.name`,
//! `io.kubernetes.pod.namespace`). `NotFound` means the runtime does not know the id (a
//! container of another runtime); any other failure is logged once by the look-up thread.
//! The gRPC client runs on a single-threaded tokio runtime owned by that thread, so nothing
//! async reaches the capture path.

pub mod proto;

use crate::enrich::{Connected, Lookups, PodName, RuntimeAnswer, RuntimeApi, RuntimeApiError};
use flowsight_record::{ContainerImage, ContainerMeta};
use http::uri::PathAndQuery;
use hyper_util::rt::TokioIo;
use proto::{
    ContainerStatus, ContainerStatusRequest, ContainerStatusResponse, PodSandboxStatusRequest,
    PodSandboxStatusResponse, VersionRequest, VersionResponse,
};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};

/// The sockets tried, in order: containerd, CRI-O, k3s's embedded containerd.
pub const DEFAULT_SOCKETS: &[&str] = &[
    "/run/containerd/containerd.sock",
    "/var/run/crio/crio.sock",
    "/run/k3s/containerd/containerd.sock",
];
/// `Version` of the CRI runtime service.
pub const VERSION: &str = "/runtime.v1.RuntimeService/Version";
/// `ContainerStatus` of the CRI runtime service.
pub const CONTAINER_STATUS: &str = "/runtime.v1.RuntimeService/ContainerStatus";
/// `PodSandboxStatus` of the CRI runtime service.
pub const POD_SANDBOX_STATUS: &str = "/runtime.v1.RuntimeService/PodSandboxStatus";
/// How long connecting, and one call, may take.
const TIMEOUT: Duration = Duration::from_secs(2);
/// Answers larger than this are refused (a verbose status holds the container's OCI spec:
/// tens of KiB).
const MAX_ANSWER: usize = 4 << 20;
/// Pods remembered at most; emptied when full.
const POD_CAPACITY: usize = 4096;

/// A CRI runtime service on one unix socket.
pub struct CriApi {
    runtime: tokio::runtime::Runtime,
    grpc: tonic::client::Grpc<Channel>,
    /// Pod sandbox id -> the pod (None: the runtime did not know the sandbox).
    pods: HashMap<String, Option<PodName>>,
}

impl std::fmt::Debug for CriApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CriApi")
            .field("pods", &self.pods.len())
            .finish_non_exhaustive()
    }
}

impl CriApi {
    /// A client of the runtime at `socket`. Connects lazily (the first call), and again
    /// after the runtime restarts.
    pub fn new(socket: &Path) -> Result<CriApi, RuntimeApiError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let socket = socket.to_path_buf();
        let connector = tower::service_fn(move |_: http::Uri| {
            let socket = socket.clone();
            async move {
                let stream = tokio::net::UnixStream::connect(socket).await?;
                Ok::<_, std::io::Error>(TokioIo::new(stream))
            }
        });
        // The channel's buffer task is spawned on the runtime it is made in.
        let channel = {
            let _in = runtime.enter();
            // The authority is not used: every connection is to the socket.
            Endpoint::from_static("http://cri.local")
                .connect_timeout(TIMEOUT)
                .timeout(TIMEOUT)
                .connect_with_connector_lazy(connector)
        };
        let grpc = tonic::client::Grpc::new(channel).max_decoding_message_size(MAX_ANSWER);
        Ok(CriApi {
            runtime,
            grpc,
            pods: HashMap::new(),
        })
    }

    /// One unary call.
    fn call<Q, A>(&mut self, method: &'static str, request: Q) -> Result<A, Status>
    where
        Q: prost::Message + Send + Sync + 'static,
        A: prost::Message + Default + Send + Sync + 'static,
    {
        let grpc = &mut self.grpc;
        self.runtime.block_on(async move {
            grpc.ready()
                .await
                .map_err(|e| Status::unavailable(format!("not ready: {e}")))?;
            let codec = tonic_prost::ProstCodec::<Q, A>::default();
            grpc.unary(
                tonic::Request::new(request),
                PathAndQuery::from_static(method),
                codec,
            )
            .await
            .map(tonic::Response::into_inner)
        })
    }

    /// The runtime's name and versions.
    pub fn version(&mut self) -> Result<VersionResponse, Status> {
        let request = VersionRequest {
            version: "v1".into(),
        };
        self.call(VERSION, request)
    }

    /// The first of `sockets` whose runtime answers `Version`. A socket whose runtime answers
    /// Unimplemented serves no CRI (docker's containerd) and is passed over; when none
    /// answers (the runtime is not up yet), the first socket that did not refuse CRI, whose
    /// runtime is asked again at each question.
    pub fn connect(sockets: &[PathBuf]) -> Result<Connected<CriApi>, RuntimeApiError> {
        let mut fallback = None;
        for socket in sockets {
            let mut api = CriApi::new(socket)?;
            match api.version() {
                Ok(v) => {
                    return Ok(Connected {
                        api,
                        socket: socket.clone(),
                        about: format!(
                            "{} {}, CRI {}",
                            v.runtime_name, v.runtime_version, v.runtime_api_version
                        ),
                    });
                }
                Err(s) if s.code() == Code::Unimplemented => {
                    log::debug!(
                        "{}: no CRI runtime service: {}",
                        socket.display(),
                        s.message()
                    );
                }
                Err(s) => {
                    log::debug!("{}: CRI Version: {s}", socket.display());
                    if fallback.is_none() {
                        fallback = Some(Connected {
                            api,
                            socket: socket.clone(),
                            about: String::new(),
                        });
                    }
                }
            }
        }
        fallback.ok_or_else(|| {
            let tried: Vec<String> = sockets.iter().map(|s| s.display().to_string()).collect();
            RuntimeApiError::Answer(format!(
                "no CRI runtime service at {} (Unimplemented)",
                tried.join(", ")
            ))
        })
    }

    /// The pod of sandbox `id`, asked once per sandbox.
    fn pod(&mut self, id: &str) -> Option<PodName> {
        if let Some(p) = self.pods.get(id) {
            return p.clone();
        }
        let request = PodSandboxStatusRequest {
            pod_sandbox_id: id.to_string(),
            verbose: false,
        };
        let pod = match self.call::<_, PodSandboxStatusResponse>(POD_SANDBOX_STATUS, request) {
            Ok(r) => r.status.and_then(|s| s.metadata).and_then(|m| {
                (!m.name.is_empty()).then(|| PodName {
                    name: m.name,
                    namespace: m.namespace,
                    uid: Some(m.uid).filter(|u| !u.is_empty()),
                })
            }),
            Err(s) if s.code() == Code::NotFound => None,
            Err(s) => {
                // Not remembered: asked again for the pod's next container.
                log::debug!("CRI PodSandboxStatus {id}: {s}");
                return None;
            }
        };
        if self.pods.len() >= POD_CAPACITY {
            self.pods.clear();
        }
        self.pods.insert(id.to_string(), pod.clone());
        pod
    }
}

impl RuntimeApi for CriApi {
    fn ask(&mut self, id: &str) -> Result<Option<RuntimeAnswer>, RuntimeApiError> {
        let request = ContainerStatusRequest {
            container_id: id.to_string(),
            verbose: true,
        };
        let answer = match self.call::<_, ContainerStatusResponse>(CONTAINER_STATUS, request) {
            Ok(a) => a,
            Err(s) if s.code() == Code::NotFound => return Ok(None),
            Err(s) => {
                return Err(RuntimeApiError::Answer(format!(
                    "ContainerStatus: {:?}: {}",
                    s.code(),
                    s.message()
                )));
            }
        };
        let Some(status) = answer.status else {
            return Ok(None);
        };
        let sandbox = sandbox_id(&answer.info);
        let meta = container_meta(status);
        let pod = sandbox
            .and_then(|sandbox| self.pod(&sandbox))
            .or_else(|| PodName::from_labels(&meta.labels));
        Ok(Some(RuntimeAnswer {
            container: Arc::new(meta),
            pod,
        }))
    }
}

/// The pod sandbox id in a verbose `ContainerStatus`'s `info["info"]` (containerd's
/// `ContainerInfo`, CRI-O's `containerInfo`: both `{"sandboxID": ...}`).
pub fn sandbox_id(info: &std::collections::BTreeMap<String, String>) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(info.get("info")?).ok()?;
    v["sandboxID"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// `container.name`, `container.image.name` and `container.labels` from a container's status.
pub fn container_meta(status: ContainerStatus) -> ContainerMeta {
    let name = status.metadata.map(|m| m.name).filter(|n| !n.is_empty());
    let spec = status.image.unwrap_or_default();
    // The reference as the pod spec gave it; else the tag the runtime answers; an image id
    // (`sha256:...`, containerd's answer for an image without a tag) only when nothing names
    // it better.
    let image = [
        spec.user_specified_image,
        spec.image.clone(),
        status.image_ref,
        spec.image,
    ]
    .into_iter()
    .enumerate()
    .find(|(i, s)| !s.is_empty() && (*i == 3 || !s.starts_with("sha256:")))
    .map(|(_, name)| ContainerImage { name });
    ContainerMeta {
        name,
        image,
        labels: status.labels,
    }
}

/// Look-ups of Kubernetes containers through the first of `sockets` that exists.
pub fn lookups(sockets: &[PathBuf]) -> Lookups {
    Lookups::start("CRI runtime service", "cri-names", sockets, CriApi::connect)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::{ContainerMetadata, ImageSpec};

    #[test]
    fn reads_the_sandbox_id_of_containerd_and_cri_o() {
        let info = |json: &str| [("info".to_string(), json.to_string())].into();
        // containerd's ContainerInfo, trimmed.
        assert_eq!(
            sandbox_id(&info(
                r#"{"sandboxID":"5f3a","pid":4242,"removing":false,"snapshotKey":"x","runtimeSpec":{"ociVersion":"1.1.0"}}"#
            ))
            .as_deref(),
            Some("5f3a")
        );
        // CRI-O's containerInfo.
        assert_eq!(
            sandbox_id(&info(r#"{"sandboxID":"9c1b","pid":7,"privileged":false}"#)).as_deref(),
            Some("9c1b")
        );
        assert!(sandbox_id(&info("not json")).is_none());
        assert!(sandbox_id(&info(r#"{"sandboxID":""}"#)).is_none());
        assert!(sandbox_id(&Default::default()).is_none());
    }

    #[test]
    fn names_the_image_by_its_reference_before_its_id() {
        let status = |user: &str, image: &str, image_ref: &str| ContainerStatus {
            id: "c".into(),
            metadata: Some(ContainerMetadata {
                name: "nginx".into(),
                attempt: 0,
            }),
            image: Some(ImageSpec {
                image: image.into(),
                user_specified_image: user.into(),
            }),
            image_ref: image_ref.into(),
            labels: [("a".to_string(), "b".to_string())].into(),
        };
        let image = |s| container_meta(s).image.map(|i| i.name);
        let m = container_meta(status("", "docker.io/library/nginx:1.27", "sha256:ab"));
        assert_eq!(m.name.as_deref(), Some("nginx"));
        assert_eq!(m.image.unwrap().name, "docker.io/library/nginx:1.27");
        assert_eq!(m.labels["a"], "b");
        assert_eq!(
            image(status("nginx:1.27", "docker.io/library/nginx:1.27", "")).as_deref(),
            Some("nginx:1.27")
        );
        assert_eq!(
            image(status("", "sha256:ab", "docker.io/library/nginx@sha256:ab")).as_deref(),
            Some("docker.io/library/nginx@sha256:ab")
        );
        assert_eq!(
            image(status("", "sha256:ab", "")).as_deref(),
            Some("sha256:ab")
        );
        assert_eq!(image(status("", "", "")), None);
    }

    #[test]
    fn a_missing_socket_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let absent = dir.path().join("absent.sock");
        let mut api = CriApi::new(&absent).unwrap();
        assert!(api.ask("abc").is_err());
        assert!(api.version().is_err());
        // Not up yet: kept, to be asked again at each question.
        let c = CriApi::connect(std::slice::from_ref(&absent)).unwrap();
        assert_eq!(c.socket, absent);
        assert!(c.about.is_empty());
    }
}
