//! The HTTP endpoint: `/metrics` in the Prometheus text format, rendered from the same
//! records the JSON sink writes.
//!
//! It runs on its own thread with a small tokio runtime and only reads the shared metrics;
//! capture never waits on it. Bound to loopback it is open; on any other address every
//! request must carry the bearer token from `--token-file` (compared in constant time, never
//! logged). No CORS headers are sent, so browsers keep other origins out.

use anyhow::{Context, Result, bail};
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use flowsight_sink::Metrics;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Where and how to serve.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// The address to listen on.
    pub addr: SocketAddr,
    /// The bearer token, required on a non-loopback address.
    token: Option<String>,
    /// Traffic label sets with their own series.
    pub max_series: usize,
}

impl ServeConfig {
    /// Checks the address against the token rule and reads the token file.
    pub fn new(addr: SocketAddr, token_file: Option<&Path>, max_series: usize) -> Result<Self> {
        let token = token_file
            .map(|p| -> Result<String> {
                let t = std::fs::read_to_string(p)
                    .with_context(|| format!("reading the token file {}", p.display()))?;
                let t = t.trim().to_string();
                if t.len() < 16 {
                    bail!(
                        "the token in {} is shorter than 16 characters; use a long random one (e.g. `openssl rand -hex 32`)",
                        p.display()
                    );
                }
                Ok(t)
            })
            .transpose()?;
        if !addr.ip().is_loopback() && token.is_none() {
            bail!(
                "serving on {addr} (not loopback) needs --token-file: the endpoint would be open to the network"
            );
        }
        if max_series == 0 {
            bail!("--metrics-max-series must be at least 1");
        }
        Ok(ServeConfig {
            addr,
            token,
            max_series,
        })
    }
}

/// A running server; it stops with the process.
pub struct Server {
    /// The address it listens on (the real port when 0 was asked for).
    pub addr: SocketAddr,
}

#[derive(Clone)]
struct Shared {
    metrics: Arc<Mutex<Metrics>>,
    token: Option<Arc<str>>,
}

/// Bind now (so a busy port is an error at start-up) and serve on a thread.
pub fn start(cfg: &ServeConfig, metrics: Arc<Mutex<Metrics>>) -> Result<Server> {
    let listener = std::net::TcpListener::bind(cfg.addr)
        .with_context(|| format!("listening on {}", cfg.addr))?;
    listener
        .set_nonblocking(true)
        .context("setting the listener non-blocking")?;
    let addr = listener.local_addr().context("reading the bound address")?;
    let shared = Shared {
        metrics,
        token: cfg.token.as_deref().map(Arc::from),
    };
    let app = router(shared);
    std::thread::Builder::new()
        .name("flowsight-http".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_io()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    log::error!("the HTTP server could not start: {e}");
                    return;
                }
            };
            rt.block_on(async move {
                let listener = match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => l,
                    Err(e) => {
                        log::error!("the HTTP server could not start: {e}");
                        return;
                    }
                };
                if let Err(e) = axum::serve(listener, app).await {
                    log::error!("the HTTP server stopped: {e}");
                }
            });
        })
        .context("starting the HTTP thread")?;
    Ok(Server { addr })
}

fn router(shared: Shared) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .layer(middleware::from_fn_with_state(shared.clone(), auth))
        .with_state(shared)
}

async fn metrics(State(s): State<Shared>) -> Response {
    let text = s.metrics.lock().unwrap_or_else(|e| e.into_inner()).render();
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        )],
        text,
    )
        .into_response()
}

/// Every request needs the token when one is configured.
async fn auth(State(s): State<Shared>, req: Request, next: Next) -> Response {
    if let Some(token) = &s.token {
        let sent = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !same(sent.as_bytes(), token.as_bytes()) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "a bearer token is required\n",
            )
                .into_response();
        }
    }
    next.run(req).await
}

/// Constant-time comparison: the time taken does not tell how much of a guess was right.
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowsight_record::Record;
    use std::io::{Read, Write};

    /// One request over a real socket; the status code and body.
    fn get(addr: SocketAddr, path: &str, token: Option<&str>) -> (u16, String) {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        let auth = token
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        let code = out[9..12].parse().unwrap();
        let body = out.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
        (code, body.to_string())
    }

    fn metrics_with_records() -> Arc<Mutex<Metrics>> {
        let mut m = Metrics::new(10);
        for r in Record::examples() {
            m.observe(&r);
        }
        Arc::new(Mutex::new(m))
    }

    #[test]
    fn loopback_serves_metrics_without_a_token() {
        let cfg = ServeConfig::new("127.0.0.1:0".parse().unwrap(), None, 10).unwrap();
        let server = start(&cfg, metrics_with_records()).unwrap();
        let (code, body) = get(server.addr, "/metrics", None);
        assert_eq!(code, 200);
        assert!(
            body.contains("flowsight_records_written_total{type=\"flow\"} 1"),
            "{body}"
        );
        assert!(body.contains("flowsight_bytes_total{"), "{body}");
        assert_eq!(get(server.addr, "/nothing", None).0, 404);
    }

    #[test]
    fn another_address_needs_the_token_on_every_request() {
        let dir = std::env::temp_dir().join(format!("flowsight-serve-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("token");
        std::fs::write(&file, "0123456789abcdef0123\n").unwrap();
        let any: SocketAddr = "0.0.0.0:0".parse().unwrap();
        let err = ServeConfig::new(any, None, 10).unwrap_err().to_string();
        assert!(err.contains("--token-file"), "{err}");
        let cfg = ServeConfig::new(any, Some(&file), 10).unwrap();
        let server = start(&cfg, metrics_with_records()).unwrap();
        let local = SocketAddr::from(([127, 0, 0, 1], server.addr.port()));
        assert_eq!(get(local, "/metrics", None).0, 401);
        assert_eq!(get(local, "/metrics", Some("0123456789abcdef0124")).0, 401);
        assert_eq!(get(local, "/metrics", Some("0123456789abcdef0123")).0, 200);
        // A short token is refused at start-up.
        std::fs::write(&file, "short").unwrap();
        assert!(ServeConfig::new(any, Some(&file), 10).is_err());
    }
}
