//! Container names, images and labels from the Docker Engine API, off the capture path.
//!
//! cgroup paths give a container's id and runtime, never its name. Where a Docker Engine API
//! socket is present (`/var/run/docker.sock`; podman serves the same API on
//! `/run/podman/podman.sock`), [`DockerNames`] asks it once per container
//! (`GET /containers/<id>/json`) on a thread of its own, and the answer is cached; until it
//! comes, and when there is no socket or the runtime does not know the id, records simply
//! carry no name. Nothing here blocks the caller.

use flowsight_record::{ContainerImage, ContainerMeta};
use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::Duration;

/// The sockets tried, in order.
pub const DEFAULT_SOCKETS: &[&str] = &["/var/run/docker.sock", "/run/podman/podman.sock"];
/// How long one API call may take.
const TIMEOUT: Duration = Duration::from_secs(2);
/// Answers larger than this are not read (a container's JSON is a few KiB).
const MAX_ANSWER: u64 = 4 << 20;
/// Containers remembered at most; the cache is emptied when full.
const CAPACITY: usize = 1 << 14;

/// Parse the body of `GET /containers/<id>/json`.
pub fn parse_inspect(body: &[u8]) -> Option<ContainerMeta> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let name = v["Name"]
        .as_str()
        .map(|n| n.trim_start_matches('/').to_string())
        .filter(|n| !n.is_empty());
    let image = v["Config"]["Image"]
        .as_str()
        .filter(|i| !i.is_empty())
        .map(|i| ContainerImage { name: i.into() });
    let labels: BTreeMap<String, String> = v["Config"]["Labels"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    Some(ContainerMeta {
        name,
        image,
        labels,
    })
}

/// One HTTP/1.0 GET over a unix socket: the body of a 200 answer.
fn get(socket: &Path, path: &str) -> std::io::Result<Option<Vec<u8>>> {
    let mut s = UnixStream::connect(socket)?;
    s.set_read_timeout(Some(TIMEOUT))?;
    s.set_write_timeout(Some(TIMEOUT))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: docker\r\n\r\n")?;
    let mut answer = Vec::new();
    s.take(MAX_ANSWER).read_to_end(&mut answer)?;
    let Some(split) = answer.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let status_line = answer[..split].split(|&b| b == b'\n').next().unwrap_or(&[]);
    let ok = status_line.split(|&b| b == b' ').nth(1) == Some(b"200");
    Ok(ok.then(|| answer[split + 4..].to_vec()))
}

/// Look-ups of container metadata on a thread of their own, cached.
#[derive(Debug)]
pub struct DockerNames {
    ask: Option<Sender<String>>,
    answers: Option<Receiver<(String, Option<ContainerMeta>)>>,
    known: HashMap<String, Option<Arc<ContainerMeta>>>,
}

impl DockerNames {
    /// Ask the first of `sockets` that exists; none: never ask (every look-up is None).
    pub fn new(sockets: &[PathBuf]) -> DockerNames {
        let Some(socket) = sockets.iter().find(|s| s.exists()).cloned() else {
            return DockerNames::off();
        };
        log::info!("container names from {}", socket.display());
        let (ask, asked) = channel::<String>();
        let (answer, answers) = channel();
        let spawned = std::thread::Builder::new()
            .name("docker-names".into())
            .spawn(move || {
                for id in asked {
                    let meta = match get(&socket, &format!("/containers/{id}/json")) {
                        Ok(Some(body)) => parse_inspect(&body),
                        Ok(None) => None,
                        Err(e) => {
                            log::debug!("{}: container {id}: {e}", socket.display());
                            None
                        }
                    };
                    if answer.send((id, meta)).is_err() {
                        return;
                    }
                }
            });
        match spawned {
            Ok(_) => DockerNames {
                ask: Some(ask),
                answers: Some(answers),
                known: HashMap::new(),
            },
            Err(e) => {
                log::warn!("container names are off: {e}");
                DockerNames::off()
            }
        }
    }

    /// Never asks.
    pub fn off() -> DockerNames {
        DockerNames {
            ask: None,
            answers: None,
            known: HashMap::new(),
        }
    }

    /// What is known of container `id`: asks the first time (the answer comes later), never
    /// blocks.
    pub fn meta(&mut self, id: &str) -> Option<Arc<ContainerMeta>> {
        if let Some(answers) = &self.answers {
            while let Ok((id, meta)) = answers.try_recv() {
                self.known.insert(id, meta.map(Arc::new));
            }
        }
        if let Some(m) = self.known.get(id) {
            return m.clone();
        }
        let ask = self.ask.as_ref()?;
        if self.known.len() >= CAPACITY {
            self.known.clear();
        }
        // Asked: None until the answer comes (or for good, when the runtime does not know it).
        self.known.insert(id.to_string(), None);
        if ask.send(id.to_string()).is_err() {
            self.ask = None;
        }
        None
    }

    /// Forget what was not found, so it is asked again (a container the runtime had not
    /// registered yet when first seen).
    pub fn retry_unknown(&mut self) {
        self.known.retain(|_, m| m.is_some());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufRead;
    use std::os::unix::net::UnixListener;

    /// Trimmed from a real `docker inspect` answer (Docker Engine 24).
    const INSPECT: &str = r#"{"Id":"7dea796eb5d6826a85978fa316612874aa3d576ac576495bed83d77fbc9dc744","Created":"2024-05-01T10:00:00Z","Path":"/docker-entrypoint.sh","Name":"/web-1","Config":{"Hostname":"7dea796eb5d6","Image":"nginx:1.27","Labels":{"com.docker.compose.project":"shop","com.docker.compose.service":"web"}},"State":{"Status":"running","Pid":4242}}"#;

    #[test]
    fn parses_docker_inspect() {
        let m = parse_inspect(INSPECT.as_bytes()).unwrap();
        assert_eq!(m.name.as_deref(), Some("web-1"));
        assert_eq!(m.image.unwrap().name, "nginx:1.27");
        assert_eq!(m.labels["com.docker.compose.service"], "web");
        assert_eq!(m.labels.len(), 2);
        assert!(parse_inspect(b"not json").is_none());
        let empty = parse_inspect(b"{}").unwrap();
        assert_eq!(empty, ContainerMeta::default());
    }

    /// A fake Engine API on a unix socket: answers INSPECT for one id, 404 for others.
    fn fake_engine(dir: &Path) -> PathBuf {
        let path = dir.join("docker.sock");
        let listener = UnixListener::bind(&path).unwrap();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { return };
                let mut line = String::new();
                std::io::BufReader::new(&conn).read_line(&mut line).unwrap();
                let answer = if line.contains("/containers/7dea796eb5d6826a85978fa316612874aa3d576ac576495bed83d77fbc9dc744/json") {
                    format!("HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{INSPECT}")
                } else {
                    "HTTP/1.0 404 Not Found\r\n\r\n{\"message\":\"No such container\"}".to_string()
                };
                let _ = conn.write_all(answer.as_bytes());
            }
        });
        path
    }

    #[test]
    fn asks_once_off_the_callers_thread_and_caches() {
        let dir = tempfile::tempdir().unwrap();
        let socket = fake_engine(dir.path());
        let mut names = DockerNames::new(&[dir.path().join("absent.sock"), socket]);
        let id = "7dea796eb5d6826a85978fa316612874aa3d576ac576495bed83d77fbc9dc744";
        assert!(names.meta(id).is_none(), "the first call only asks");
        let mut got = None;
        for _ in 0..200 {
            got = names.meta(id);
            if got.is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let got = got.expect("an answer");
        assert_eq!(got.name.as_deref(), Some("web-1"));
        assert!(Arc::ptr_eq(&got, &names.meta(id).unwrap()), "cached");
        // An unknown id: asked once, None for good until a retry.
        assert!(names.meta("ffff").is_none());
        std::thread::sleep(Duration::from_millis(100));
        assert!(names.meta("ffff").is_none());
        assert_eq!(names.known.len(), 2);
        names.retry_unknown();
        assert_eq!(names.known.len(), 1);
    }

    #[test]
    fn without_a_socket_nothing_is_asked() {
        let mut names = DockerNames::new(&[PathBuf::from("/nonexistent/docker.sock")]);
        assert!(names.meta("abc").is_none());
        assert!(names.known.is_empty());
    }
}
