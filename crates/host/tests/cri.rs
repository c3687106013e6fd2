//! Kubernetes names from a CRI runtime service: a fake `runtime.v1.RuntimeService` (a tonic
//! server with hand-written routing, on a unix socket in this process) answers
//! `Version`, `ContainerStatus` and `PodSandboxStatus` and counts the calls; a [`Host`] over a fake
//! procfs and cgroup2 tree, with containerd pod containers in it, attributes stamped sockets.

use flowsight_host::cri::proto::{
    ContainerMetadata, ContainerStatus, ContainerStatusRequest, ContainerStatusResponse, ImageSpec,
    PodSandboxMetadata, PodSandboxStatus, PodSandboxStatusRequest, PodSandboxStatusResponse,
    VersionRequest, VersionResponse,
};
use flowsight_host::cri::{CONTAINER_STATUS, POD_SANDBOX_STATUS, VERSION};
use flowsight_host::{Host, HostConfig, SocketStamp};
use flowsight_record::{ContainerRuntime, Owner};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tonic::Status;
use tonic::body::Body;
use tonic_prost::ProstCodec;

const POD: &str = "55c6c714-b240-4dec-9a45-57b61696ab6e";
const POD_: &str = "55c6c714_b240_4dec_9a45_57b61696ab6e";
const OTHER_POD: &str = "0b1f2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const OTHER_POD_: &str = "0b1f2c3d_4e5f_4a6b_8c7d_9e0f1a2b3c4d";
/// Two containers of pod POD (sandbox SANDBOX).
const WEB: &str = "7dea796eb5d6826a85978fa316612874aa3d576ac576495bed83d77fbc9dc744";
const SIDECAR: &str = "0ba8ac17e4e7a31fb82279503552fe94e64bab4745bf6fd2ff231e7c8ca8bed0";
/// A container of OTHER_POD whose sandbox the runtime does not find: named from its labels.
const LABELLED: &str = "1111111111111111111111111111111111111111111111111111111111111111";
/// Containers the runtime fails for (an internal error).
const BROKEN: &str = "2222222222222222222222222222222222222222222222222222222222222222";
const BROKEN2: &str = "3333333333333333333333333333333333333333333333333333333333333333";
/// A container the runtime does not know (NotFound).
const UNKNOWN: &str = "4444444444444444444444444444444444444444444444444444444444444444";
const SANDBOX: &str = "5f3a5f3a5f3a5f3a5f3a5f3a5f3a5f3a5f3a5f3a5f3a5f3a5f3a5f3a5f3a5f3a";

// ---- log capture: "logged once" is checked on what the crate logs ----

static LINES: Mutex<Vec<(log::Level, String)>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, r: &log::Record<'_>) {
        LINES
            .lock()
            .unwrap()
            .push((r.level(), r.args().to_string()));
    }
    fn flush(&self) {}
}

fn capture_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        log::set_logger(&Capture).unwrap();
        log::set_max_level(log::LevelFilter::Debug);
    });
}

/// Log lines at `level` that mention `needle` (each test's socket path is its own).
fn logged(level: log::Level, needle: &str) -> Vec<String> {
    LINES
        .lock()
        .unwrap()
        .iter()
        .filter(|(l, m)| *l == level && m.contains(needle))
        .map(|(_, m)| m.clone())
        .collect()
}

// ---- the fake runtime ----

#[derive(Default)]
struct Calls {
    container_status: AtomicUsize,
    pod_sandbox_status: AtomicUsize,
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// What containerd answers: the image's tag in `image`, its digest in `image_ref`, the
/// kubelet's labels, and (verbose) the sandbox id in `info["info"]`.
fn container_status(r: ContainerStatusRequest) -> Result<ContainerStatusResponse, Status> {
    let (name, pod, pod_ns, pod_uid, sandbox) = match r.container_id.as_str() {
        WEB => ("nginx", "web-0", "shop", POD, SANDBOX),
        SIDECAR => ("envoy", "web-0", "shop", POD, SANDBOX),
        LABELLED => ("redis", "cache-0", "infra", OTHER_POD, "gone"),
        BROKEN | BROKEN2 => return Err(Status::internal("boltdb: database not open")),
        id => {
            return Err(Status::not_found(format!(
                "an error occurred when try to find container \"{id}\": not found"
            )));
        }
    };
    let info = if r.verbose {
        [(
            "info".to_string(),
            format!(
                r#"{{"sandboxID":"{sandbox}","pid":4242,"runtimeSpec":{{"ociVersion":"1.1.0"}}}}"#
            ),
        )]
        .into()
    } else {
        BTreeMap::new()
    };
    Ok(ContainerStatusResponse {
        status: Some(ContainerStatus {
            id: r.container_id.clone(),
            metadata: Some(ContainerMetadata {
                name: name.into(),
                attempt: 0,
            }),
            image: Some(ImageSpec {
                image: format!("docker.io/library/{name}:1.27"),
                user_specified_image: String::new(),
            }),
            image_ref: format!("docker.io/library/{name}@sha256:0123"),
            labels: labels(&[
                ("io.kubernetes.container.name", name),
                ("io.kubernetes.pod.name", pod),
                ("io.kubernetes.pod.namespace", pod_ns),
                ("io.kubernetes.pod.uid", pod_uid),
            ]),
        }),
        info,
    })
}

fn pod_sandbox_status(r: PodSandboxStatusRequest) -> Result<PodSandboxStatusResponse, Status> {
    if r.pod_sandbox_id != SANDBOX {
        return Err(Status::not_found("sandbox not found"));
    }
    Ok(PodSandboxStatusResponse {
        status: Some(PodSandboxStatus {
            id: SANDBOX.into(),
            metadata: Some(PodSandboxMetadata {
                name: "web-0".into(),
                uid: POD.into(),
                namespace: "shop".into(),
                attempt: 0,
            }),
            labels: labels(&[("app", "web")]),
        }),
    })
}

/// `runtime.v1.RuntimeService` with three methods, routed by hand; or, when `.1` is false, a
/// gRPC server without that service (docker's containerd, its CRI plugin disabled).
#[derive(Clone)]
struct FakeCri(Arc<Calls>, bool);

impl tower::Service<http::Request<Body>> for FakeCri {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        let calls = Arc::clone(&self.0);
        let cri = self.1;
        Box::pin(async move {
            Ok(match req.uri().path() {
                _ if !cri => {
                    Status::unimplemented("unknown service runtime.v1.RuntimeService").into_http()
                }
                VERSION => {
                    let svc = tower::service_fn(|_: tonic::Request<VersionRequest>| {
                        std::future::ready(Ok(tonic::Response::new(VersionResponse {
                            version: "0.1.0".into(),
                            runtime_name: "fake-containerd".into(),
                            runtime_version: "v1.7.0".into(),
                            runtime_api_version: "v1".into(),
                        })))
                    });
                    let codec = ProstCodec::<VersionResponse, VersionRequest>::default();
                    tonic::server::Grpc::new(codec).unary(svc, req).await
                }
                CONTAINER_STATUS => {
                    calls.container_status.fetch_add(1, Ordering::SeqCst);
                    let svc = tower::service_fn(|r: tonic::Request<ContainerStatusRequest>| {
                        std::future::ready(
                            container_status(r.into_inner()).map(tonic::Response::new),
                        )
                    });
                    let codec =
                        ProstCodec::<ContainerStatusResponse, ContainerStatusRequest>::default();
                    tonic::server::Grpc::new(codec).unary(svc, req).await
                }
                POD_SANDBOX_STATUS => {
                    calls.pod_sandbox_status.fetch_add(1, Ordering::SeqCst);
                    let svc = tower::service_fn(|r: tonic::Request<PodSandboxStatusRequest>| {
                        std::future::ready(
                            pod_sandbox_status(r.into_inner()).map(tonic::Response::new),
                        )
                    });
                    let codec =
                        ProstCodec::<PodSandboxStatusResponse, PodSandboxStatusRequest>::default();
                    tonic::server::Grpc::new(codec).unary(svc, req).await
                }
                _ => Status::unimplemented("not in the fake").into_http(),
            })
        })
    }
}

/// The fake runtime serving on `socket` from a thread of its own until dropped.
struct Runtime {
    calls: Arc<Calls>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Runtime {
    /// A CRI runtime.
    fn serve(socket: &Path) -> Runtime {
        Runtime::serve_cri(socket, true)
    }

    fn serve_cri(socket: &Path, cri: bool) -> Runtime {
        let calls = Arc::new(Calls::default());
        let svc = FakeCri(Arc::clone(&calls), cri);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let socket = socket.to_path_buf();
        let (ready, is_ready) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::UnixListener::bind(&socket).unwrap();
                ready.send(()).unwrap();
                tonic::transport::Server::builder()
                    .serve_with_incoming_shutdown(
                        svc,
                        tokio_stream::wrappers::UnixListenerStream::new(listener),
                        async {
                            let _ = stopped.await;
                        },
                    )
                    .await
                    .unwrap();
            });
        });
        is_ready.recv().unwrap();
        Runtime {
            calls,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn counts(&self) -> (usize, usize) {
        (
            self.calls.container_status.load(Ordering::SeqCst),
            self.calls.pod_sandbox_status.load(Ordering::SeqCst),
        )
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---- the host ----

/// A fake procfs and cgroup2 tree with containerd pod containers (systemd driver) in it.
struct Tree {
    dir: tempfile::TempDir,
}

impl Tree {
    fn new() -> Tree {
        let dir = tempfile::tempdir().unwrap();
        let proc = dir.path().join("proc");
        let cg = dir.path().join("cgroup");
        std::fs::create_dir_all(proc.join("self")).unwrap();
        std::fs::write(
            proc.join("self/mountinfo"),
            format!("41 31 0:38 / {} rw - cgroup2 cgroup2 rw\n", cg.display()),
        )
        .unwrap();
        let tree = Tree { dir };
        for id in [WEB, SIDECAR, BROKEN, BROKEN2, UNKNOWN] {
            std::fs::create_dir_all(cg.join(tree.cgroup(POD_, id))).unwrap();
        }
        std::fs::create_dir_all(cg.join(tree.cgroup(OTHER_POD_, LABELLED))).unwrap();
        tree
    }

    /// The cgroup of container `id` in pod `pod_` (the uid as the systemd driver escapes it).
    fn cgroup(&self, pod_: &str, id: &str) -> String {
        format!(
            "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{pod_}.slice/cri-containerd-{id}.scope"
        )
    }

    fn host(&self, cri_sockets: Vec<PathBuf>) -> Host {
        Host::new(HostConfig {
            cri_sockets,
            ..HostConfig::with_procfs(self.dir.path().join("proc"))
        })
    }

    /// The owner of a socket stamped by a process (gone, so built from the stamp) in the
    /// cgroup of container `id`.
    fn owner(&self, host: &mut Host, pod_: &str, id: &str) -> Owner {
        let cgroup_id =
            std::fs::metadata(self.dir.path().join("cgroup").join(self.cgroup(pod_, id)))
                .unwrap()
                .ino();
        host.owner(&SocketStamp {
            tgid: 3_999_999,
            uid: 1000,
            gid: 1000,
            cgroup_id,
            comm: "curl".into(),
            netns: 4026532001,
        })
        .expect("an owner")
    }
}

/// Attribution from the cgroup path alone, whatever the runtime said.
fn assert_attributed(o: &Owner, id: &str, pod: &str) {
    let c = o.container.as_ref().expect("a container");
    assert_eq!(c.id, id);
    assert_eq!(c.runtime, ContainerRuntime::Containerd);
    assert_eq!(c.pod_uid.as_deref(), Some(pod));
    let p = o.orchestrator.as_ref().expect("a pod");
    assert_eq!(p.resource.id, pod);
    assert_eq!(p.resource.qos_class, "Burstable");
    assert_eq!(o.process.name, "curl");
    assert_eq!(o.netns.unwrap().id, 4026532001);
}

/// Wait (at most 10 s: CI machines are slow) until `done`.
fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Ask until the owner carries the runtime's names (the first calls only ask).
fn named_owner(tree: &Tree, host: &mut Host, pod_: &str, id: &str) -> Owner {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let o = tree.owner(host, pod_, id);
        if o.container.as_ref().unwrap().meta.is_some() {
            return o;
        }
        assert!(Instant::now() < deadline, "no names for {id}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_containerd_pod_container_gets_its_names_once() {
    capture_logs();
    let tree = Tree::new();
    let socket = tree.dir.path().join("containerd.sock");
    let runtime = Runtime::serve(&socket);
    // Before it: a socket that is not there, and a containerd without CRI (docker's).
    let no_cri = tree.dir.path().join("docker-containerd.sock");
    let docker_containerd = Runtime::serve_cri(&no_cri, false);
    let mut host = tree.host(vec![
        tree.dir.path().join("absent.sock"),
        no_cri,
        socket.clone(),
    ]);

    let first = tree.owner(&mut host, POD_, WEB);
    assert_attributed(&first, WEB, POD);
    assert!(
        first.container.as_ref().unwrap().meta.is_none(),
        "never waited for"
    );

    let o = named_owner(&tree, &mut host, POD_, WEB);
    assert_attributed(&o, WEB, POD);
    let meta = o.container.as_ref().unwrap().meta.as_ref().unwrap();
    assert_eq!(meta.name.as_deref(), Some("nginx"));
    assert_eq!(
        meta.image.as_ref().unwrap().name,
        "docker.io/library/nginx:1.27"
    );
    assert_eq!(meta.labels["io.kubernetes.container.name"], "nginx");
    let pod = o.orchestrator.as_ref().unwrap();
    assert_eq!(pod.resource.name.as_deref(), Some("web-0"));
    assert_eq!(pod.namespace.as_deref(), Some("shop"));
    assert_eq!(runtime.counts(), (1, 1));

    // The JSON a record carries: ECS names.
    let json = serde_json::to_value(&o).unwrap();
    assert_eq!(json["container"]["name"], "nginx");
    assert_eq!(
        json["container"]["image"]["name"],
        "docker.io/library/nginx:1.27"
    );
    assert_eq!(
        json["container"]["labels"]["io.kubernetes.pod.name"],
        "web-0"
    );
    assert_eq!(json["orchestrator"]["resource"]["name"], "web-0");
    assert_eq!(json["orchestrator"]["namespace"], "shop");
    assert_eq!(json["orchestrator"]["resource"]["id"], POD);

    // Cached: more owners in the container ask nothing, and share one container.
    for _ in 0..20 {
        let again = tree.owner(&mut host, POD_, WEB);
        assert!(Arc::ptr_eq(
            again.container.as_ref().unwrap(),
            o.container.as_ref().unwrap()
        ));
        assert!(Arc::ptr_eq(
            again.orchestrator.as_ref().unwrap(),
            o.orchestrator.as_ref().unwrap()
        ));
    }
    // The pod's other container: its own ContainerStatus, the pod's sandbox already known.
    let sidecar = named_owner(&tree, &mut host, POD_, SIDECAR);
    assert_eq!(
        sidecar
            .container
            .as_ref()
            .unwrap()
            .meta
            .as_ref()
            .unwrap()
            .name
            .as_deref(),
        Some("envoy")
    );
    assert_eq!(
        sidecar
            .orchestrator
            .as_ref()
            .unwrap()
            .resource
            .name
            .as_deref(),
        Some("web-0")
    );
    assert_eq!(runtime.counts(), (2, 1), "one PodSandboxStatus per pod");

    // A sandbox the runtime does not find: the pod is named from the kubelet's labels.
    let labelled = named_owner(&tree, &mut host, OTHER_POD_, LABELLED);
    assert_attributed(&labelled, LABELLED, OTHER_POD);
    let pod = labelled.orchestrator.as_ref().unwrap();
    assert_eq!(
        (pod.resource.name.as_deref(), pod.namespace.as_deref()),
        (Some("cache-0"), Some("infra"))
    );
    assert_eq!(runtime.counts(), (3, 2));

    // A container the runtime does not know: asked once, attributed, not an error.
    assert_attributed(&tree.owner(&mut host, POD_, UNKNOWN), UNKNOWN, POD);
    wait_until("the unknown container's question", || {
        runtime.counts().0 == 4
    });
    for _ in 0..5 {
        assert_attributed(&tree.owner(&mut host, POD_, UNKNOWN), UNKNOWN, POD);
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(runtime.counts(), (4, 2));
    assert_eq!(docker_containerd.counts(), (0, 0), "passed over");
    let socket_name = socket.display().to_string();
    assert!(logged(log::Level::Warn, &socket_name).is_empty());
    let said = logged(log::Level::Info, &socket_name);
    assert_eq!(said.len(), 1, "names from the socket: said once");
    assert!(
        said[0].contains("fake-containerd v1.7.0, CRI v1"),
        "{said:?}"
    );
}

#[test]
fn an_error_answer_leaves_attribution_intact_and_is_logged_once() {
    capture_logs();
    let tree = Tree::new();
    let socket = tree.dir.path().join("crio.sock");
    let runtime = Runtime::serve(&socket);
    let mut host = tree.host(vec![socket.clone()]);
    for id in [BROKEN, BROKEN2] {
        for _ in 0..10 {
            let o = tree.owner(&mut host, POD_, id);
            assert_attributed(&o, id, POD);
            assert!(o.container.as_ref().unwrap().meta.is_none());
            assert!(o.orchestrator.as_ref().unwrap().resource.name.is_none());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    // The second failure is logged at debug level once its answer is in.
    let socket_name = socket.display().to_string();
    wait_until("the second failure", || {
        logged(log::Level::Debug, &socket_name)
            .iter()
            .any(|m| m.contains(BROKEN2))
    });
    assert_eq!(runtime.counts(), (2, 0), "each asked once");
    let warned = logged(log::Level::Warn, &socket_name);
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert!(warned[0].contains("database not open"), "{warned:?}");
    // The API still answers for the containers it knows.
    let o = named_owner(&tree, &mut host, POD_, WEB);
    assert_eq!(
        o.orchestrator.as_ref().unwrap().resource.name.as_deref(),
        Some("web-0")
    );
}

#[test]
fn without_a_runtime_attribution_is_intact() {
    capture_logs();
    let tree = Tree::new();
    // No socket at all: nothing is asked, one line says so.
    let absent = tree.dir.path().join("absent-containerd.sock");
    let mut host = tree.host(vec![absent.clone()]);
    for _ in 0..3 {
        let o = tree.owner(&mut host, POD_, WEB);
        assert_attributed(&o, WEB, POD);
        assert!(o.container.as_ref().unwrap().meta.is_none());
    }
    assert_eq!(
        logged(log::Level::Info, &absent.display().to_string()).len(),
        1
    );

    // A socket left by a runtime that is gone: connections are refused, logged once.
    let stale = tree.dir.path().join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    let mut host = tree.host(vec![stale.clone()]);
    for id in [WEB, SIDECAR, WEB, SIDECAR] {
        let o = tree.owner(&mut host, POD_, id);
        assert_attributed(&o, id, POD);
        assert!(o.container.as_ref().unwrap().meta.is_none());
        std::thread::sleep(Duration::from_millis(100));
    }
    let stale_name = stale.display().to_string();
    // The first container's failure is the warning, the second's a debug line.
    wait_until("the second failure", || {
        logged(log::Level::Debug, &stale_name)
            .iter()
            .any(|m| m.contains(SIDECAR))
    });
    let warned = logged(log::Level::Warn, &stale_name);
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert!(warned[0].contains(WEB), "{warned:?}");
}
