//! The HTTP endpoint: `/metrics` in the Prometheus text format, the REST API under
//! `/api/v1/` ([`api`]) and the dashboard at `/` ([`assets`]), all from the same records the
//! JSON sink writes.
//!
//! It runs on its own thread with a small tokio runtime and only reads the shared metrics and
//! web state; capture never waits on it beyond the locks' short copies. Bound to loopback it is open; on any other address every
//! request must carry the bearer token from `--token-file` (compared in constant time, never
//! logged). No CORS headers are sent, so browsers keep other origins out.

use anyhow::{Context, Result, bail};
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, put};
use flowsight_sink::Metrics;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

mod api;
mod assets;
pub mod control;
mod schemas;
pub mod state;

pub use state::{SharedWeb, Web, WebSink};

/// Where and how to serve.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// The address to listen on.
    pub addr: SocketAddr,
    /// The bearer token, required on a non-loopback address.
    token: Option<String>,
    /// Traffic label sets with their own series.
    pub max_series: usize,
    /// Changes through the API are allowed (`--allow-control`).
    pub allow_control: bool,
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
            allow_control: false,
        })
    }

    /// The same, with changes through the API allowed or not.
    pub fn with_control(mut self, allow: bool) -> Self {
        self.allow_control = allow;
        self
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
    web: SharedWeb,
    token: Option<Arc<str>>,
    /// The capture to control; None when the server only reads records.
    control: Option<control::Control>,
    /// Bound to a loopback address.
    loopback: bool,
}

/// Bind now (so a busy port is an error at start-up) and serve on a thread. `control` is the
/// capture the API may change (its writes allowed only when `cfg.allow_control`).
pub fn start(
    cfg: &ServeConfig,
    metrics: Arc<Mutex<Metrics>>,
    web: SharedWeb,
    control: Option<control::Control>,
) -> Result<Server> {
    let listener = std::net::TcpListener::bind(cfg.addr)
        .with_context(|| format!("listening on {}", cfg.addr))?;
    listener
        .set_nonblocking(true)
        .context("setting the listener non-blocking")?;
    let addr = listener.local_addr().context("reading the bound address")?;
    let shared = Shared {
        metrics,
        web,
        token: cfg.token.as_deref().map(Arc::from),
        control: control.map(|mut c| {
            c.writes = cfg.allow_control;
            c
        }),
        loopback: addr.ip().is_loopback(),
    };
    let app = router(shared);
    std::thread::Builder::new()
        .name("flowsight-http".into())
        .spawn(move || {
            // One thread answers; searches over every flow go to at most two blocking
            // threads (api.rs), so they cannot take more than the machine's spare cores.
            // Control requests await the capture thread with a timer, holding no thread.
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_io()
                .enable_time()
                .max_blocking_threads(2)
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

/// One route: its path, the methods it answers and the handlers.
type Route = (&'static str, &'static [&'static str], MethodRouter<Shared>);

/// Every route the server answers, path, methods and handlers: the one list the router is
/// built from and the OpenAPI test walks, so a route cannot be added without being
/// documented.
fn routes() -> Vec<Route> {
    vec![
        ("/", &["get"], get(assets::index)),
        ("/app.js", &["get"], get(assets::script)),
        ("/app.css", &["get"], get(assets::style)),
        ("/metrics", &["get"], get(metrics)),
        ("/api/v1/flows", &["get"], get(api::flows)),
        ("/api/v1/processes", &["get"], get(api::processes)),
        ("/api/v1/containers", &["get"], get(api::containers)),
        ("/api/v1/users", &["get"], get(api::users)),
        ("/api/v1/hosts", &["get"], get(api::hosts)),
        ("/api/v1/records", &["get"], get(api::records)),
        ("/api/v1/stats", &["get"], get(api::stats)),
        ("/api/v1/timeseries", &["get"], get(api::timeseries)),
        ("/api/v1/interfaces", &["get"], get(control::interfaces)),
        (
            "/api/v1/interfaces/{name}",
            &["put"],
            put(control::set_interface),
        ),
        (
            "/api/v1/settings",
            &["get", "put"],
            get(control::settings).put(control::set_settings),
        ),
        ("/api/v1/openapi.json", &["get"], get(api::openapi)),
    ]
}

fn router(shared: Shared) -> Router {
    routes()
        .into_iter()
        .fold(Router::new(), |r, (path, _, handler)| {
            r.route(path, handler)
        })
        // The layer wraps every route above: one token rule for all of them.
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
mod tests;
