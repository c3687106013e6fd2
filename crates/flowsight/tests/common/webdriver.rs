//! A real browser driven from a test: Debian's headless Chromium through chromedriver's W3C
//! WebDriver HTTP API, both run inside a test's network namespace (where `flowsight live
//! --web` listens on its loopback).
//!
//! The client is a few blocking requests over `TcpStream` and serde_json: fantoccini and
//! thirtyfour are async and would add some fifty crates (Mozilla's `webdriver` crate with
//! ICU, a second `http`, cookies, time) for the eight endpoints used here.
//!
//! Everything is torn down on drop, failure included: the session is ended, chromedriver,
//! Chromium and its helpers (all in a cgroup of their own) killed, and the scratch directory
//! (profile, logs, Chromium's temporary files) removed.

use super::tempdir::TempDir;
use super::{Cgroup, NetNs, PeerSpec, wait_for};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

/// chromedriver's port, in the test's own namespace (where any port is free).
const DRIVER_PORT: u16 = 9515;

/// The key W3C WebDriver gives an element reference in JSON.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Chromium and chromedriver, when both are installed.
fn browser_and_driver() -> Option<(PathBuf, PathBuf)> {
    let which = |names: &[&str]| {
        names.iter().find_map(|n| {
            let p = Path::new(n);
            if p.is_absolute() {
                return p.exists().then(|| p.to_path_buf());
            }
            std::env::var_os("PATH").and_then(|path| {
                std::env::split_paths(&path)
                    .map(|d| d.join(n))
                    .find(|p| p.exists())
            })
        })
    };
    // The binary itself rather than Debian's /usr/bin/chromium wrapper script.
    let browser = which(&[
        "/usr/lib/chromium/chromium",
        "chromium",
        "chromium-browser",
        "google-chrome",
    ])?;
    let driver = which(&["chromedriver", "/usr/lib/chromium/chromedriver"])?;
    Some((browser, driver))
}

/// chromedriver with one headless Chromium session, running in a network namespace.
pub struct Browser {
    ns: PathBuf,
    session: Option<String>,
    driver: Option<Child>,
    /// Kills whatever chromedriver leaves (Chromium, its zygotes and crash handler) on drop.
    _cgroup: Cgroup,
    /// Dropped after the cgroup: nothing writes to it any more.
    dir: TempDir,
}

impl Browser {
    /// Starts chromedriver in `ns` and opens a session with a `width`x`height` window; `None`
    /// after a loud `SKIP (no chromium)` when Chromium or chromedriver is missing, a
    /// failure instead under FLOWSIGHT_REQUIRE_ROOT_TESTS=1.
    pub fn start(test: &str, ns: &NetNs, width: u32, height: u32) -> Option<Browser> {
        let Some((browser, driver)) = browser_and_driver() else {
            let why = format!(
                "{test} needs Debian's chromium and chromium-driver \
                 (apt-get install -y chromium chromium-driver)"
            );
            if std::env::var("FLOWSIGHT_REQUIRE_ROOT_TESTS").as_deref() == Ok("1") {
                panic!("{why}; required under FLOWSIGHT_REQUIRE_ROOT_TESTS=1");
            }
            let _ = writeln!(std::io::stderr(), "SKIP (no chromium): {why}");
            return None;
        };
        let dir = TempDir::new();
        let cgroup = Cgroup::new("browser");
        let spec = PeerSpec {
            netns: Some(ns),
            uid: None,
            cgroup: Some(&cgroup),
        };
        let child = spec
            .program(&driver)
            .arg(format!("--port={DRIVER_PORT}"))
            .arg(format!(
                "--log-path={}",
                dir.path().join("chromedriver.log").display()
            ))
            // Chromium's temporary files (and chromedriver's) go where the drop removes them.
            .env("TMPDIR", dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", driver.display()));
        let mut b = Browser {
            ns: ns.path().into(),
            session: None,
            driver: Some(child),
            _cgroup: cgroup,
            dir,
        };
        let ready = wait_for(Duration::from_secs(20), || {
            b.request("GET", "/status", None)
                .is_ok_and(|v| v["ready"] == true)
        });
        assert!(ready, "chromedriver did not start:\n{}", b.log());
        let profile = b.dir.path().join("profile");
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": browser,
                "args": [
                    "--headless",
                    // Root, in a namespace: no sandbox (as web_dashboard.rs).
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--no-first-run",
                    format!("--window-size={width},{height}"),
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
        }}});
        let v = b
            .request("POST", "/session", Some(&caps))
            .unwrap_or_else(|e| panic!("no session: {e}\n{}", b.log()));
        b.session = Some(v["sessionId"].as_str().expect("a session id").into());
        Some(b)
    }

    /// chromedriver's log so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("chromedriver.log")).unwrap_or_default()
    }

    /// A command of the session: `path` below `/session/ID`; the answer's `value`.
    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let id = self.session.as_deref().expect("a session");
        let body = body.or_else(|| (method == "POST").then(|| json!({})));
        self.request(method, &format!("/session/{id}{path}"), body.as_ref())
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// Loads `url` and waits for the page's load event.
    pub fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url })));
    }

    /// The element `css` selects (the first one); panics when there is none.
    pub fn find(&self, css: &str) -> String {
        let v = self.cmd(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        match v[ELEMENT].as_str() {
            Some(e) => e.into(),
            None => panic!("{css}: not an element reference: {v}"),
        }
    }

    /// Types `text` into an element, key by key (each key fires its input event).
    pub fn type_into(&self, element: &str, text: &str) {
        self.cmd(
            "POST",
            &format!("/element/{element}/value"),
            Some(json!({ "text": text })),
        );
    }

    /// Clicks an element (an `<option>` is selected that way).
    pub fn click(&self, element: &str) {
        self.cmd("POST", &format!("/element/{element}/click"), None);
    }

    /// Runs `script` (a function body; `return` gives the answer) in the page.
    pub fn execute(&self, script: &str) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
    }

    /// A PNG of the viewport.
    pub fn screenshot(&self) -> Vec<u8> {
        let v = self.cmd("GET", "/screenshot", None);
        base64_decode(v.as_str().expect("base64 text")).expect("valid base64")
    }

    /// One request to chromedriver over a new connection made in its namespace; the
    /// answer's `value`, or the WebDriver error as text.
    fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut s = connect_in(&self.ns, DRIVER_PORT).map_err(|e| e.to_string())?;
        // A page that hangs must not hang the test.
        s.set_read_timeout(Some(Duration::from_secs(60)))
            .map_err(|e| e.to_string())?;
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{DRIVER_PORT}\r\n\
             Content-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        )
        .map_err(|e| e.to_string())?;
        // chromedriver keeps the connection open whatever the request says: read the header,
        // then the body its length or its chunks say.
        let mut raw = Vec::new();
        let mut buf = [0u8; 65536];
        let (head, mut payload) = loop {
            if let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
                break (head, raw[split + 4..].to_vec());
            }
            let n = s.read(&mut buf).map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("connection closed in the HTTP header".into());
            }
            raw.extend_from_slice(&buf[..n]);
        };
        let length = head.lines().find_map(|l| {
            l.strip_prefix("content-length:")
                .and_then(|v| v.trim().parse::<usize>().ok())
        });
        let chunked = head.contains("transfer-encoding: chunked");
        loop {
            let done = match length {
                Some(len) => payload.len() >= len,
                None if chunked => dechunk(&payload).is_some(),
                None => false,
            };
            if done {
                break;
            }
            let n = s.read(&mut buf).map_err(|e| e.to_string())?;
            if n == 0 {
                break;
            }
            payload.extend_from_slice(&buf[..n]);
        }
        if chunked {
            payload = dechunk(&payload).ok_or("bad chunked body")?;
        }
        let status: u16 = head
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or("no HTTP status")?;
        let v: Value = serde_json::from_slice(&payload)
            .map_err(|e| format!("{e}: {}", String::from_utf8_lossy(&payload)))?;
        if status != 200 {
            return Err(format!(
                "HTTP {status}: {}: {}",
                v["value"]["error"], v["value"]["message"]
            ));
        }
        Ok(v["value"].clone())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ending the session closes Chromium; the cgroup kills anything left behind.
        if let Some(id) = self.session.take() {
            let _ = self.request("DELETE", &format!("/session/{id}"), None);
        }
        if let Some(mut c) = self.driver.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A TCP connection to 127.0.0.1:`port` of the namespace at `ns`: the socket is made on a
/// thread that entered it (setns moves only the calling thread), and stays there.
fn connect_in(ns: &Path, port: u16) -> std::io::Result<TcpStream> {
    let ns = std::fs::File::open(ns)?;
    std::thread::scope(|s| {
        s.spawn(|| {
            use std::os::fd::AsRawFd;
            // SAFETY: setns on a descriptor we own, affecting this short-lived thread only.
            if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
            TcpStream::connect(("127.0.0.1", port))
        })
        .join()
        .unwrap()
    })
}

/// An HTTP/1.1 chunked body, decoded.
fn dechunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = b.windows(2).position(|w| w == b"\r\n")?;
        let size = std::str::from_utf8(&b[..eol]).ok()?;
        let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        b = &b[eol + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(b.get(..size)?);
        b = b.get(size + 2..)?;
    }
}

/// Standard base64 (with padding), as WebDriver sends screenshots.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let text: Vec<u8> = text.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    if !text.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    for quad in text.chunks(4) {
        let pad = quad.iter().rev().take_while(|&&c| c == b'=').count();
        let mut n = 0u32;
        for &c in &quad[..4 - pad] {
            n = n << 6 | val(c)?;
        }
        n <<= 6 * pad;
        out.extend_from_slice(&n.to_be_bytes()[1..4 - pad]);
    }
    Some(out)
}

/// A PNG file checked chunk by chunk (signature, CRCs, IHDR first, IEND last): its width,
/// height and the bytes of its image data.
pub fn png_info(png: &[u8]) -> Result<(u32, u32, usize), String> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    let mut rest = png.strip_prefix(SIGNATURE).ok_or("not a PNG signature")?;
    let (mut size, mut idat, mut first, mut ended) = (None, 0, true, false);
    while !rest.is_empty() {
        if ended {
            return Err("data after IEND".into());
        }
        let len = u32::from_be_bytes(rest.get(..4).ok_or("truncated")?.try_into().unwrap());
        let len = len as usize;
        let body = rest.get(4..8 + len).ok_or("truncated chunk")?;
        let crc = rest.get(8 + len..12 + len).ok_or("truncated CRC")?;
        if crc32(body).to_be_bytes() != crc {
            return Err(format!(
                "bad CRC in {}",
                String::from_utf8_lossy(&body[..4])
            ));
        }
        let (kind, data) = body.split_at(4);
        match kind {
            b"IHDR" if first && data.len() == 13 => {
                let w = u32::from_be_bytes(data[..4].try_into().unwrap());
                let h = u32::from_be_bytes(data[4..8].try_into().unwrap());
                size = Some((w, h));
            }
            _ if first => return Err("IHDR is not the first chunk".into()),
            b"IDAT" => idat += data.len(),
            b"IEND" => ended = true,
            _ => {}
        }
        first = false;
        rest = &rest[12 + len..];
    }
    if !ended {
        return Err("no IEND".into());
    }
    let (w, h) = size.ok_or("no IHDR")?;
    Ok((w, h, idat))
}

/// CRC-32 (ISO-HDLC), as PNG chunks carry it.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                crc >> 1 ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
