//! The dashboard in a real browser: headless Chromium loads the page from a server fed
//! example records and must draw the chart (painted pixels, one line per process) and fill
//! the flows table and the protocol records list. Skips loudly without Chromium.

// The server module is compiled into this test as is: the binary has no library target,
// and starting it through `flowsight live` would need root and a kernel.
#[allow(dead_code, unused_imports)]
#[path = "../src/serve/mod.rs"]
mod serve;

use flowsight_record::{Record, Timestamp};
use serve::state::View;
use serve::{ServeConfig, Web};
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
}

/// A state with a few seconds of history: the example records, their flow growing.
fn state() -> Web {
    let w = Web::default();
    // The page asks for the user series and the hosts: as if it had already, so this
    // state's fixed ticks compute them.
    for v in [View::UserSeries, View::ContainerSeries, View::Hosts] {
        w.want(v);
    }
    let t0 = 1_795_333_024_000_000_000u64;
    w.tick(Timestamp(t0));
    for step in 1..=5u64 {
        for r in Record::examples() {
            let mut r = r;
            if let Record::Flow(f) = &mut r {
                // Totals since the flow began grow at each interim record.
                f.source.bytes *= step;
                f.destination.bytes *= step;
            }
            if step == 1 || matches!(r, Record::Flow(_)) {
                w.observe(&r);
            }
        }
        w.tick(Timestamp(t0 + step * 1_000_000_000));
    }
    w
}

/// The attribute `name` of the first element with `id="id"` in `dom`.
fn attr<'a>(dom: &'a str, id: &str, name: &str) -> Option<&'a str> {
    let at = dom.find(&format!("id=\"{id}\""))?;
    let tag_start = dom[..at].rfind('<')?;
    let tag = &dom[tag_start..tag_start + dom[tag_start..].find('>')?];
    let v = tag.split(&format!("{name}=\"")).nth(1)?;
    v.split('"').next()
}

#[test]
fn dashboard_draws_chart_table_and_records() {
    let Some(browser) = chromium() else {
        writeln!(
            std::io::stderr(),
            "SKIPPED dashboard_draws_chart_table_and_records: no chromium (apt-get install -y chromium)"
        )
        .unwrap();
        return;
    };
    let cfg = ServeConfig::new("127.0.0.1:0".parse().unwrap(), None, 10).unwrap();
    let metrics = Arc::new(Mutex::new(flowsight_sink::Metrics::new(10)));
    let server = serve::start(&cfg, metrics, Arc::new(state()), None).unwrap();
    let dom = dump_dom(browser, &format!("http://{}/", server.addr));
    let series: u32 = attr(&dom, "chart", "data-series")
        .unwrap_or_else(|| panic!("the chart was never drawn:\n{dom}"))
        .parse()
        .unwrap();
    assert!(series >= 1, "{dom}");
    let ink: u32 = attr(&dom, "chart", "data-ink").unwrap().parse().unwrap();
    assert!(ink > 1000, "only {ink} pixels painted");
    let rows = dom
        .split("<tbody>")
        .nth(1)
        .unwrap()
        .split("</tbody>")
        .next()
        .unwrap();
    assert!(rows.matches("<tr>").count() >= 1, "no flow rows:\n{dom}");
    assert!(rows.contains("curl (1234)"), "{rows}");
    assert!(rows.contains("10.0.0.2:80"), "{rows}");
    let records = dom.split("id=\"records\"").nth(1).unwrap();
    for kind in ["http", "dns", "tls"] {
        assert!(records.contains(&format!("kind kind-{kind}")), "{records}");
    }
    // Hosts contacted: the example flow's server, with its one flow.
    let hosts = dom
        .split("id=\"hosts\"")
        .nth(1)
        .and_then(|h| h.split("<tbody>").nth(1))
        .and_then(|h| h.split("</tbody>").next())
        .unwrap_or_else(|| panic!("no hosts table:\n{dom}"));
    assert!(
        hosts.contains("<td>10.0.0.2</td><td class=\"num\">1</td>"),
        "{hosts}"
    );
    assert!(!dom.contains("class=\"error\""), "{dom}");

    // The chart by user: one line, named after the example's user.
    let dom = dump_dom(browser, &format!("http://{}/#by=user", server.addr));
    assert_eq!(attr(&dom, "chart", "data-series"), Some("1"), "{dom}");
    let legend = dom.split("id=\"legend\"").nth(1).unwrap();
    let legend = legend.split("</ul>").next().unwrap();
    assert!(legend.contains("alice"), "{legend}");
    assert!(!legend.contains("curl"), "{legend}");
}

/// Load `url` in headless Chromium and return the DOM once its scripts have run.
fn dump_dom(browser: &str, url: &str) -> String {
    let profile = std::env::temp_dir().join(format!("flowsight-web-{}", std::process::id()));
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-dev-shm-usage",
            "--virtual-time-budget=5000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A browser that hangs must not hang the test suite.
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    let _ = std::fs::remove_dir_all(&profile);
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dom.into_owned()
}
