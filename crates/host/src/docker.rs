//! Container names, images and labels from the Docker Engine API, off the capture path.
//!
//! cgroup paths give a container's id and runtime, never its name. Where a Docker Engine API
//! socket is present (`/var/run/docker.sock`; podman serves the same API on
//! `/run/podman/podman.sock`), [`DockerApi`] asks it once per container
//! (`GET /containers/<id>/json`) on the look-up thread of [`crate::enrich::Lookups`], which
//! caches the answer; until it comes, and when there is no socket or the runtime does not know
//! the id, records simply carry no name. Nothing here blocks the caller.

use crate::enrich::{Connected, Lookups, PodName, RuntimeAnswer, RuntimeApi, RuntimeApiError};
use flowsight_record::{ContainerImage, ContainerMeta};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The sockets tried, in order.
pub const DEFAULT_SOCKETS: &[&str] = &["/var/run/docker.sock", "/run/podman/podman.sock"];
/// How long one API call may take.
const TIMEOUT: Duration = Duration::from_secs(2);
/// Answers larger than this are not read (a container's JSON is a few KiB).
const MAX_ANSWER: u64 = 4 << 20;
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

/// One HTTP/1.0 GET over a unix socket: the body of a 200 answer, None for a 404.
fn get(socket: &Path, path: &str) -> Result<Option<Vec<u8>>, RuntimeApiError> {
    let mut s = UnixStream::connect(socket)?;
    s.set_read_timeout(Some(TIMEOUT))?;
    s.set_write_timeout(Some(TIMEOUT))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: docker\r\n\r\n")?;
    let mut answer = Vec::new();
    s.take(MAX_ANSWER).read_to_end(&mut answer)?;
    let Some(split) = answer.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Err(RuntimeApiError::Answer(format!(
            "GET {path}: no HTTP answer"
        )));
    };
    let status_line = answer[..split].split(|&b| b == b'\n').next().unwrap_or(&[]);
    match status_line.split(|&b| b == b' ').nth(1) {
        Some(b"200") => Ok(Some(answer[split + 4..].to_vec())),
        // No such container: not an error.
        Some(b"404") => Ok(None),
        _ => Err(RuntimeApiError::Answer(format!(
            "GET {path}: {}",
            String::from_utf8_lossy(status_line).trim_end()
        ))),
    }
}

/// The Docker Engine API on one unix socket.
#[derive(Debug)]
pub struct DockerApi {
    socket: PathBuf,
}

impl DockerApi {
    /// The API at `socket` (connected anew for each question: answers are rare).
    pub fn new(socket: &Path) -> DockerApi {
        DockerApi {
            socket: socket.to_path_buf(),
        }
    }
}

impl RuntimeApi for DockerApi {
    fn ask(&mut self, id: &str) -> Result<Option<RuntimeAnswer>, RuntimeApiError> {
        let Some(body) = get(&self.socket, &format!("/containers/{id}/json"))? else {
            return Ok(None);
        };
        Ok(parse_inspect(&body).map(|meta| RuntimeAnswer {
            // A Kubernetes pod's container under cri-dockerd carries the kubelet's labels.
            pod: PodName::from_labels(&meta.labels),
            container: Arc::new(meta),
        }))
    }
}

/// The ids of the running containers named by `values` (the `--container` filter's
/// values that look like names), asked of the first of `sockets` that exists, once, at
/// start-up: a container's records written before its name came back from the look-up
/// thread would otherwise miss a filter by name. Values that are not container names, and
/// every error, give nothing (the filter still matches names once they are known).
pub fn ids_of_names(sockets: &[PathBuf], values: &[String]) -> Vec<String> {
    let Some(socket) = sockets.iter().find(|s| s.exists()) else {
        return Vec::new();
    };
    // Docker's name rule, which also keeps the path below free of anything to escape.
    let is_name = |v: &str| {
        let mut chars = v.chars();
        chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    };
    values
        .iter()
        .filter(|v| is_name(v))
        .filter_map(
            |name| match get(socket, &format!("/containers/{name}/json")) {
                Ok(Some(body)) => serde_json::from_slice::<serde_json::Value>(&body)
                    .ok()?
                    .get("Id")?
                    .as_str()
                    .map(str::to_string),
                Ok(None) => None,
                Err(e) => {
                    log::debug!("container {name}: {e}");
                    None
                }
            },
        )
        .collect()
}

/// Look-ups of docker and podman containers through the first of `sockets` that exists.
pub fn lookups(sockets: &[PathBuf]) -> Lookups {
    Lookups::start("Docker Engine API", "docker-names", sockets, |present| {
        // The first: a socket that exists answers the Engine API (docker's or podman's).
        Ok(Connected::first(present, DockerApi::new(&present[0])))
    })
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

    /// A fake Engine API on a unix socket: answers INSPECT for one id, 500 for `boom`, 404 for
    /// others.
    fn fake_engine(dir: &Path) -> PathBuf {
        let path = dir.join("docker.sock");
        let listener = UnixListener::bind(&path).unwrap();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { return };
                let mut line = String::new();
                std::io::BufReader::new(&conn).read_line(&mut line).unwrap();
                let answer = if line.contains("/containers/7dea796eb5d6826a85978fa316612874aa3d576ac576495bed83d77fbc9dc744/json")
                    || line.contains("/containers/web-1/json")
                {
                    format!("HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{INSPECT}")
                } else if line.contains("/containers/boom/") {
                    "HTTP/1.0 500 Internal Server Error\r\n\r\n{}".to_string()
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
        let mut names = lookups(&[dir.path().join("absent.sock"), socket]);
        let id = "7dea796eb5d6826a85978fa316612874aa3d576ac576495bed83d77fbc9dc744";
        assert!(names.get(id).is_none(), "the first call only asks");
        let mut got = None;
        for _ in 0..200 {
            got = names.get(id);
            if got.is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let got = got.expect("an answer");
        assert_eq!(got.container.name.as_deref(), Some("web-1"));
        assert!(got.pod.is_none(), "no kubelet labels");
        assert!(Arc::ptr_eq(&got, &names.get(id).unwrap()), "cached");
        // An unknown id (404): asked once, None for good until a retry.
        assert!(names.get("ffff").is_none());
        std::thread::sleep(Duration::from_millis(100));
        assert!(names.get("ffff").is_none());
        assert_eq!(names.len(), 2);
        names.retry_unknown();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn names_given_to_the_filter_are_resolved_to_ids_once() {
        let dir = tempfile::tempdir().unwrap();
        let socket = fake_engine(dir.path());
        let values = ["web-1", "7dea", "db", "../x", "boom"].map(String::from);
        assert_eq!(
            ids_of_names(&[socket], &values),
            vec!["7dea796eb5d6826a85978fa316612874aa3d576ac576495bed83d77fbc9dc744".to_string()]
        );
        assert!(ids_of_names(&[dir.path().join("absent.sock")], &values).is_empty());
    }

    #[test]
    fn a_404_is_unknown_and_other_statuses_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let socket = fake_engine(dir.path());
        let mut api = DockerApi::new(&socket);
        assert!(api.ask("ffff").unwrap().is_none());
        assert!(api.ask("boom").is_err());
        assert!(
            DockerApi::new(&dir.path().join("absent.sock"))
                .ask("x")
                .is_err()
        );
    }

    #[test]
    fn without_a_socket_nothing_is_asked() {
        let mut names = lookups(&[PathBuf::from("/nonexistent/docker.sock")]);
        assert!(names.get("abc").is_none());
        assert!(names.is_empty());
    }
}
