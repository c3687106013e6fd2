//! Names, images, labels and pods from the container runtimes' APIs, off the capture path.
//!
//! cgroup paths give a container's id, runtime and pod uid, never a name. Where a runtime's
//! API socket is present, one [`Lookups`] per API asks it once per container on a thread of
//! its own and caches the answer; until it comes, and when there is no socket, the runtime
//! does not know the id or its API fails, records simply carry no name. Nothing here blocks
//! the caller. Two APIs implement [`RuntimeApi`]: the Docker Engine API
//! ([`crate::docker`], docker and podman) and the CRI runtime service ([`crate::cri`],
//! containerd and CRI-O, for Kubernetes containers); [`RuntimeApis`] asks the one that runs
//! a container.

use flowsight_record::{Container, ContainerMeta, ContainerRuntime};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, TrySendError, channel, sync_channel};

/// Containers remembered at most per API; the cache is emptied when full.
const CAPACITY: usize = 1 << 14;
/// Questions waiting for the look-up thread at most: while an API hangs (each question can
/// take its timeout), more are dropped and asked again at the next retry, so the queue does
/// not grow with the containers seen.
const ASK_QUEUE: usize = 1024;

/// The kubelet's labels on every container it creates.
const POD_NAME_LABEL: &str = "io.kubernetes.pod.name";
const POD_NAMESPACE_LABEL: &str = "io.kubernetes.pod.namespace";
const POD_UID_LABEL: &str = "io.kubernetes.pod.uid";

/// What a runtime's API says of one container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuntimeAnswer {
    /// ECS `container.name`, `container.image.name`, `container.labels`.
    pub container: Arc<ContainerMeta>,
    /// The Kubernetes pod the container belongs to, when the runtime knows it.
    pub pod: Option<PodName>,
}

/// A Kubernetes pod's name and namespace (ECS `orchestrator.resource.name`,
/// `orchestrator.namespace`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodName {
    /// The pod's name (`metadata.name`).
    pub name: String,
    /// Its namespace (`metadata.namespace`).
    pub namespace: String,
    /// Its uid, when the answer had it: compared with the uid of the pod cgroup.
    pub uid: Option<String>,
}

impl PodName {
    /// The pod from the kubelet's labels on one of its containers
    /// (`io.kubernetes.pod.name`, `io.kubernetes.pod.namespace`, `io.kubernetes.pod.uid`);
    /// docker (cri-dockerd) and CRI runtimes both carry them.
    pub fn from_labels(labels: &BTreeMap<String, String>) -> Option<PodName> {
        let name = labels.get(POD_NAME_LABEL).filter(|n| !n.is_empty())?;
        let namespace = labels.get(POD_NAMESPACE_LABEL).filter(|n| !n.is_empty())?;
        Some(PodName {
            name: name.clone(),
            namespace: namespace.clone(),
            uid: labels.get(POD_UID_LABEL).filter(|u| !u.is_empty()).cloned(),
        })
    }
}

/// Why a runtime's API gave no answer (logged once per API at warning level, then at debug).
#[derive(Debug, thiserror::Error)]
pub enum RuntimeApiError {
    /// The socket could not be reached, or the exchange broke off.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The runtime answered with an error: an HTTP status other than 404, a gRPC status
    /// other than NotFound, or a transport failure below gRPC.
    #[error("{0}")]
    Answer(String),
}

/// One runtime API, asked on the look-up thread.
pub trait RuntimeApi {
    /// Ask about container `id`; `Ok(None)` when the runtime does not know it (a container
    /// of another runtime, or one not registered yet).
    fn ask(&mut self, id: &str) -> Result<Option<RuntimeAnswer>, RuntimeApiError>;
}

/// An API ready to be asked, from the connect function given to [`Lookups::start`].
#[derive(Debug)]
pub struct Connected<A> {
    /// The API.
    pub api: A,
    /// The socket it is asked on.
    pub socket: PathBuf,
    /// What the runtime said of itself (`containerd 1.7.2`), for the log; may be empty.
    pub about: String,
}

impl<A> Connected<A> {
    /// `api` on the first of `sockets` (which [`Lookups::start`] never gives empty).
    pub fn first(sockets: &[PathBuf], api: A) -> Connected<A> {
        Connected {
            api,
            socket: sockets.first().cloned().unwrap_or_default(),
            about: String::new(),
        }
    }
}

/// Look-ups of one runtime API on a thread of its own, cached.
#[derive(Debug)]
pub struct Lookups {
    ask: Option<SyncSender<String>>,
    answers: Option<Receiver<(String, Option<Arc<RuntimeAnswer>>)>>,
    known: HashMap<String, Option<Arc<RuntimeAnswer>>>,
    /// Ids handed to the look-up thread and not answered yet (at most the queue's length and
    /// the one being asked).
    asked: HashSet<String>,
}

impl Lookups {
    /// Ask the API that `connect` makes, on the look-up thread (named `thread`), from those of
    /// `sockets` that exist (in order; `connect` chooses); none: never ask (every look-up is
    /// None). `what` names the API in the log lines.
    pub fn start<A, F>(what: &'static str, thread: &str, sockets: &[PathBuf], connect: F) -> Lookups
    where
        A: RuntimeApi,
        F: FnOnce(&[PathBuf]) -> Result<Connected<A>, RuntimeApiError> + Send + 'static,
    {
        let present: Vec<PathBuf> = sockets.iter().filter(|s| s.exists()).cloned().collect();
        if present.is_empty() {
            if !sockets.is_empty() {
                log::info!(
                    "no {what} socket ({}): no names from it",
                    sockets
                        .iter()
                        .map(|s| s.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            return Lookups::off();
        }
        let (ask, asked) = sync_channel::<String>(ASK_QUEUE);
        let (answer, answers) = channel();
        let spawned = std::thread::Builder::new()
            .name(thread.into())
            .spawn(move || {
                let Connected {
                    mut api,
                    socket,
                    about,
                } = match connect(&present) {
                    Ok(c) => c,
                    Err(e) => {
                        log::warn!("{what}: {e}: no names from it");
                        return;
                    }
                };
                let about = if about.is_empty() {
                    String::new()
                } else {
                    format!(" ({about})")
                };
                log::info!(
                    "container names from the {what} at {}{about}",
                    socket.display()
                );
                let mut failed = false;
                for id in asked {
                    let got = match api.ask(&id) {
                        Ok(got) => got.map(Arc::new),
                        Err(e) if !failed => {
                            failed = true;
                            log::warn!(
                                "{what} at {}: container {id}: {e} (containers it does not \
                                 answer for have no names; further errors are logged at debug level)",
                                socket.display()
                            );
                            None
                        }
                        Err(e) => {
                            log::debug!("{what} at {}: container {id}: {e}", socket.display());
                            None
                        }
                    };
                    if answer.send((id, got)).is_err() {
                        return;
                    }
                }
            });
        match spawned {
            Ok(_) => Lookups {
                ask: Some(ask),
                answers: Some(answers),
                known: HashMap::new(),
                asked: HashSet::new(),
            },
            Err(e) => {
                log::warn!("names from the {what} are off: {e}");
                Lookups::off()
            }
        }
    }

    /// Never asks.
    pub fn off() -> Lookups {
        Lookups {
            ask: None,
            answers: None,
            known: HashMap::new(),
            asked: HashSet::new(),
        }
    }

    /// Take in the answers that came.
    fn receive(&mut self) {
        let Some(answers) = &self.answers else {
            return;
        };
        loop {
            match answers.try_recv() {
                Ok((id, got)) => {
                    self.asked.remove(&id);
                    self.known.insert(id, got);
                }
                Err(TryRecvError::Empty) => break,
                // The thread ended (its API could not be set up): nothing more will come.
                Err(TryRecvError::Disconnected) => {
                    self.answers = None;
                    self.ask = None;
                    self.asked.clear();
                    break;
                }
            }
        }
    }

    /// Whether container `id` was asked about and the answer has not come yet.
    pub fn pending(&mut self, id: &str) -> bool {
        self.receive();
        self.asked.contains(id)
    }

    /// What is known of container `id`: asks the first time (the answer comes later), never
    /// blocks.
    pub fn get(&mut self, id: &str) -> Option<Arc<RuntimeAnswer>> {
        self.receive();
        if let Some(m) = self.known.get(id) {
            return m.clone();
        }
        let ask = self.ask.as_ref()?;
        if self.known.len() >= CAPACITY {
            self.known.clear();
        }
        // Asked: None until the answer comes (or for good, when the runtime does not know it).
        self.known.insert(id.to_string(), None);
        match ask.try_send(id.to_string()) {
            Ok(()) => {
                self.asked.insert(id.to_string());
            }
            // The thread is behind (a hanging API): not asked, nor remembered, so the next
            // look-up of this container asks again.
            Err(TrySendError::Full(_)) => {
                self.known.remove(id);
            }
            // The thread is gone (its API could not be set up): ask no more.
            Err(TrySendError::Disconnected(_)) => {
                self.ask = None;
                self.asked.clear();
            }
        }
        None
    }

    /// Forget what was not found, so it is asked again (a container the runtime had not
    /// registered yet when first seen, or one asked while the API failed).
    pub fn retry_unknown(&mut self) {
        self.known.retain(|_, m| m.is_some());
    }

    /// How many containers are remembered, answered or not.
    pub fn len(&self) -> usize {
        self.known.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.known.is_empty()
    }
}

/// The Docker Engine API and the CRI runtime service, each asked for the containers it runs.
#[derive(Debug)]
pub struct RuntimeApis {
    docker: Lookups,
    cri: Lookups,
}

impl RuntimeApis {
    /// Ask the first existing socket of each list (either may be empty: that API is off).
    pub fn new(docker_sockets: &[PathBuf], cri_sockets: &[PathBuf]) -> RuntimeApis {
        RuntimeApis {
            docker: crate::docker::lookups(docker_sockets),
            cri: crate::cri::lookups(cri_sockets),
        }
    }

    /// Never asks.
    pub fn off() -> RuntimeApis {
        RuntimeApis {
            docker: Lookups::off(),
            cri: Lookups::off(),
        }
    }

    /// The API that runs `c`: docker and podman containers the Engine API's, containers in
    /// a Kubernetes pod (containerd, CRI-O, or a cgroupfs-driver pod whose runtime the path
    /// does not tell) CRI's.
    fn api_of(&mut self, c: &Container) -> Option<&mut Lookups> {
        match c.runtime {
            ContainerRuntime::Docker | ContainerRuntime::Podman => Some(&mut self.docker),
            ContainerRuntime::Containerd
            | ContainerRuntime::CriO
            | ContainerRuntime::Kubernetes
                if c.pod_uid.is_some() =>
            {
                Some(&mut self.cri)
            }
            _ => None,
        }
    }

    /// What the runtime running `c` said of it. Never blocks.
    pub fn answer(&mut self, c: &Container) -> Option<Arc<RuntimeAnswer>> {
        self.api_of(c)?.get(&c.id)
    }

    /// Whether the API that runs `c` was asked about it and has not answered yet.
    pub fn pending(&mut self, c: &Container) -> bool {
        self.api_of(c).is_some_and(|api| api.pending(&c.id))
    }

    /// Forget what was not found by either API, so it is asked again.
    pub fn retry_unknown(&mut self) {
        self.docker.retry_unknown();
        self.cri.retry_unknown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::time::Duration;

    /// An API that knows one id, fails for ids starting with `bad`, and counts calls.
    struct Fake(Arc<Mutex<Vec<String>>>);

    impl RuntimeApi for Fake {
        fn ask(&mut self, id: &str) -> Result<Option<RuntimeAnswer>, RuntimeApiError> {
            self.0.lock().unwrap().push(id.to_string());
            if id.starts_with("bad") {
                return Err(RuntimeApiError::Answer("broken".into()));
            }
            Ok((id == "known").then(|| RuntimeAnswer {
                container: Arc::new(ContainerMeta {
                    name: Some("web".into()),
                    ..ContainerMeta::default()
                }),
                pod: None,
            }))
        }
    }

    /// Wait (at most 10 s) until `calls` has `n` questions.
    fn asked(calls: &Mutex<Vec<String>>, n: usize) -> Vec<String> {
        for _ in 0..1000 {
            if calls.lock().unwrap().len() >= n {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        calls.lock().unwrap().clone()
    }

    fn wait(l: &mut Lookups, id: &str) -> Option<Arc<RuntimeAnswer>> {
        for _ in 0..2000 {
            if let Some(a) = l.get(id) {
                return Some(a);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        None
    }

    #[test]
    fn asks_once_off_the_callers_thread_and_caches() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("api.sock");
        std::fs::write(&socket, b"").unwrap();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let c = Arc::clone(&calls);
        let mut l = Lookups::start(
            "fake API",
            "fake-names",
            &[dir.path().join("absent.sock"), socket],
            move |s| Ok(Connected::first(s, Fake(c))),
        );
        assert!(l.get("known").is_none(), "the first call only asks");
        let a = wait(&mut l, "known").expect("an answer");
        assert_eq!(a.container.name.as_deref(), Some("web"));
        assert!(Arc::ptr_eq(&a, &l.get("known").unwrap()), "cached");
        assert!(l.get("other").is_none());
        assert!(l.get("bad1").is_none());
        assert_eq!(asked(&calls, 3), ["known", "other", "bad1"]);
        std::thread::sleep(Duration::from_millis(20));
        assert!(l.get("other").is_none() && l.get("bad1").is_none());
        assert_eq!(calls.lock().unwrap().len(), 3, "asked once each");
        assert_eq!(l.len(), 3);
        l.retry_unknown();
        assert_eq!(l.len(), 1);
        assert!(l.get("other").is_none());
        assert_eq!(asked(&calls, 4).len(), 4, "asked again after the retry");
    }

    #[test]
    fn without_a_socket_or_an_api_nothing_is_asked() {
        let mut l = Lookups::start(
            "fake API",
            "fake-names",
            &[PathBuf::from("/nonexistent/api.sock")],
            |_| -> Result<Connected<Fake>, _> { unreachable!("no socket, no connection") },
        );
        assert!(l.get("known").is_none());
        assert!(l.is_empty());
        // An API that cannot be set up: asked once, then never again.
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("api.sock");
        std::fs::write(&socket, b"").unwrap();
        let mut l = Lookups::start(
            "fake API",
            "fake-names",
            &[socket],
            |_| -> Result<Connected<Fake>, _> { Err(RuntimeApiError::Answer("no runtime".into())) },
        );
        assert!(l.get("known").is_none());
        // Once the thread is gone, the next question finds it gone and asking stops.
        for i in 0..1000 {
            assert!(l.get(&format!("x{i}")).is_none());
            if l.ask.is_none() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(l.ask.is_none(), "the thread is gone");
    }

    /// An API that answers once the test lets it, and lists what it was asked.
    struct Gate(Receiver<()>, Arc<Mutex<Vec<String>>>);

    impl RuntimeApi for Gate {
        fn ask(&mut self, id: &str) -> Result<Option<RuntimeAnswer>, RuntimeApiError> {
            self.1.lock().unwrap().push(id.to_string());
            let _ = self.0.recv();
            Ok((id == "known").then(RuntimeAnswer::default))
        }
    }

    #[test]
    fn a_question_is_pending_until_its_answer_comes() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("api.sock");
        std::fs::write(&socket, b"").unwrap();
        let (open, gate) = channel();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let mut l = Lookups::start("fake API", "fake-names", &[socket], move |s| {
            Ok(Connected::first(s, Gate(gate, calls)))
        });
        assert!(!l.pending("known"), "not asked yet");
        assert!(l.get("known").is_none());
        assert!(l.get("other").is_none());
        assert!(l.pending("known") && l.pending("other"));
        std::thread::sleep(Duration::from_millis(20));
        assert!(l.pending("known"), "no answer yet");
        open.send(()).unwrap();
        let mut waited = 0;
        while l.pending("known") && waited < 1000 {
            std::thread::sleep(Duration::from_millis(10));
            waited += 1;
        }
        assert!(!l.pending("known"));
        assert!(l.get("known").is_some());
        assert!(l.pending("other"), "its answer has not come");
        // The gate opens for good: `other` is answered, unknown to the runtime.
        drop(open);
        let mut waited = 0;
        while l.pending("other") && waited < 1000 {
            std::thread::sleep(Duration::from_millis(10));
            waited += 1;
        }
        assert!(!l.pending("other"));
        assert!(l.get("other").is_none(), "the runtime does not know it");
    }

    #[test]
    fn a_question_the_full_queue_refused_is_asked_again() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("api.sock");
        std::fs::write(&socket, b"").unwrap();
        let (open, gate) = channel();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let c = Arc::clone(&calls);
        let mut l = Lookups::start("fake API", "fake-names", &[socket], move |s| {
            Ok(Connected::first(s, Gate(gate, c)))
        });
        // The thread takes one question and waits at the gate; the queue fills behind it.
        let n = ASK_QUEUE + 8;
        for i in 0..n {
            assert!(l.get(&format!("c{i}")).is_none());
        }
        let refused = (0..n).filter(|i| !l.pending(&format!("c{i}"))).count();
        assert!(refused >= 7, "{refused} refused");
        let last = format!("c{}", n - 1);
        assert!(!l.pending(&last), "the last one found the queue full");
        drop(open);
        let mut waited = 0;
        while (0..n).any(|i| l.pending(&format!("c{i}"))) && waited < 1000 {
            std::thread::sleep(Duration::from_millis(10));
            waited += 1;
        }
        assert!(!calls.lock().unwrap().contains(&last), "never asked");
        // Asked now that there is room.
        assert!(l.get(&last).is_none());
        assert!(asked(&calls, n - refused + 1).contains(&last));
    }

    #[test]
    fn pods_from_the_kubelets_labels() {
        let labels: BTreeMap<String, String> = [
            ("io.kubernetes.pod.name", "web-7d4b9c-x2x7q"),
            ("io.kubernetes.pod.namespace", "shop"),
            (
                "io.kubernetes.pod.uid",
                "55c6c714-b240-4dec-9a45-57b61696ab6e",
            ),
            ("io.kubernetes.container.name", "nginx"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let pod = PodName::from_labels(&labels).unwrap();
        assert_eq!(
            (
                pod.name.as_str(),
                pod.namespace.as_str(),
                pod.uid.as_deref()
            ),
            (
                "web-7d4b9c-x2x7q",
                "shop",
                Some("55c6c714-b240-4dec-9a45-57b61696ab6e")
            )
        );
        assert!(PodName::from_labels(&BTreeMap::new()).is_none());
    }

    #[test]
    fn routes_each_runtime_to_its_api() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("api.sock");
        std::fs::write(&socket, b"").unwrap();
        let (docker, cri) = (
            Arc::new(Mutex::new(Vec::new())),
            Arc::new(Mutex::new(Vec::new())),
        );
        let (d, c) = (Arc::clone(&docker), Arc::clone(&cri));
        let sockets = [socket];
        let mut apis = RuntimeApis {
            docker: Lookups::start("docker", "fake-docker", &sockets, move |s| {
                Ok(Connected::first(s, Fake(d)))
            }),
            cri: Lookups::start("cri", "fake-cri", &sockets, move |s| {
                Ok(Connected::first(s, Fake(c)))
            }),
        };
        let c = |id: &str, runtime, pod: Option<&str>| Container {
            id: id.into(),
            runtime,
            pod_uid: pod.map(str::to_string),
            meta: None,
        };
        use ContainerRuntime::*;
        for (id, runtime, pod) in [
            ("d", Docker, None),
            ("p", Podman, None),
            ("dk", Docker, Some("uid")), // cri-dockerd: its labels name the pod
            ("k1", Containerd, Some("uid")),
            ("k2", CriO, Some("uid")),
            ("k3", Kubernetes, Some("uid")),
            ("ctr", Containerd, None), // ctr/nerdctl: not a CRI container
            ("lxc", Lxc, None),
            ("nspawn", SystemdNspawn, None),
        ] {
            assert!(apis.answer(&c(id, runtime, pod)).is_none());
        }
        assert_eq!(asked(&docker, 3), ["d", "p", "dk"]);
        assert_eq!(asked(&cri, 3), ["k1", "k2", "k3"]);
        // Off: nothing is asked.
        let mut off = RuntimeApis::off();
        assert!(off.answer(&c("d", Docker, None)).is_none());
        assert!(off.docker.is_empty() && off.cri.is_empty());
    }
}
