//! Root test: the dashboard of `flowsight live --web` in a real browser while traffic runs.
//! Headless Chromium, driven through chromedriver's WebDriver API (tests/common/webdriver.rs),
//! opens the page served in the test's namespace and, polling until a deadline each time:
//! - sees the chart drawn with non-zero data: a line per traffic process, named in the legend
//!   `name (pid)`, with pixels of its colour above the zero line;
//! - types a server's port into the search box: the flows table keeps that flow's row only,
//!   and keeps it when the answer to an earlier keystroke's search comes back late;
//! - picks `user` in the chart's title: the legend names the two clients' users;
//! - takes a screenshot, written to `target/web-dashboard.png`.
//!
//! The traffic: two `stream-tcp` clients in namespace A, as daemon and as nobody, each
//! streaming to its own `serve-tcp` server in namespace B over a veth pair, for the whole test.
//! flowsight captures on A's veth; the browser's own requests go over A's loopback, which is
//! not captured.

mod common;

use common::webdriver::{Browser, png_info};
use common::*;
use serde_json::Value;
use std::process::Child;
use std::time::Duration;

#[test]
fn peer_main() {
    common::peer_main();
}

/// A peer started here: killed and reaped on drop (its cgroup's drop kills any left too).
struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The web server's port in namespace A.
const WEB_PORT: u16 = 19466;
/// The servers' ports: above the ephemeral range and above any pid (pid_max is 32768 here),
/// so that searching for one matches no other port and no pid.
const PORTS: [u16; 2] = [61001, 61002];
/// The clients' users: daemon and nobody.
const UIDS: [u32; 2] = [1, 65534];
const USERS: [&str; 2] = ["daemon", "nobody"];
/// Each client sends CHUNK bytes every PERIOD_MS (the first twice as much as the second).
const CHUNKS: [u32; 2] = [32_000, 16_000];
const PERIOD_MS: u32 = 100;

/// How long the page may take to show a change: a refresh a second, plus a debug build
/// under load.
const DEADLINE: Duration = Duration::from_secs(30);

/// What the page shows: the chart's attributes, the legend, the flows table, the status.
const STATE: &str = r##"
const chart = document.getElementById("chart");
const status = document.getElementById("status");
return {
  series: Number(chart.dataset.series || 0),
  ink: Number(chart.dataset.ink || 0),
  legend: [...document.querySelectorAll("#legend li")].map((li) => li.textContent),
  rows: [...document.querySelectorAll("#flows tbody tr")]
    .map((tr) => [...tr.cells].map((td) => td.textContent)),
  count: document.getElementById("flows-count").textContent,
  status: status.textContent,
  error: status.className === "error",
};
"##;

/// For each legend entry, the canvas pixels of exactly its colour above the zero line: a
/// series that was zero throughout is a flat line on it. The margins are app.js's drawChart
/// (bottom 24 px; lines 2 px wide, so 2 px more).
const INK_ABOVE_ZERO: &str = r##"
const chart = document.getElementById("chart");
const px = chart.getContext("2d").getImageData(0, 0, chart.width, chart.height).data;
const zero = chart.height - 24 - 2;
const out = {};
for (const li of document.querySelectorAll("#legend li")) {
  const c = li.style.getPropertyValue("--c").trim();
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16));
  let n = 0;
  for (let y = 0; y < zero; y++) {
    for (let x = 0; x < chart.width; x++) {
      const i = (y * chart.width + x) * 4;
      if (px[i] === r && px[i + 1] === g && px[i + 2] === b && px[i + 3] === 255) n++;
    }
  }
  out[li.textContent] = n;
}
return out;
"##;

/// The legend entry of `name`: `name` followed by its rate, `name 12.3 KiB/s`.
fn legend_entry<'a>(state: &'a Value, name: &str) -> Option<&'a str> {
    state["legend"]
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .find(|l| l.strip_prefix(name).is_some_and(|r| r.starts_with(' ')))
}

/// A legend entry's rate is not zero (`0 B/s`).
fn moving(entry: &str) -> bool {
    entry.ends_with("/s") && !entry.ends_with(" 0 B/s")
}

/// The rows of the flows table.
fn rows(state: &Value) -> Vec<Vec<String>> {
    serde_json::from_value(state["rows"].clone()).unwrap()
}

/// Polls the page until `ok` holds of its state; panics with the last state after DEADLINE.
fn wait_page(browser: &Browser, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    let held = wait_for(DEADLINE, || {
        last = browser.execute(STATE);
        ok(&last)
    });
    assert!(held, "the page never showed {what}: {last:#}");
    last
}

#[test]
fn dashboard_in_chromium_charts_filters_and_switches_grouping_live() {
    let test = "dashboard_in_chromium_charts_filters_and_switches_grouping_live";
    if !root_or_skip(test) {
        return;
    }
    // Made first, so dropped last: the browser, flowsight and the peers go before them.
    let (a, b) = (NetNs::new(), NetNs::new());
    let veth = Veth::new(&a, &b);
    let cg = Cgroup::new("peers");
    let Some(browser) = Browser::start(test, &a, 1280, 1600) else {
        return;
    };
    let _fs = Flowsight::start(&[
        "--netns",
        &a.path(),
        "-i",
        &veth.a,
        // The default flow-map scan (a second): one chart point a second, as users see it.
        // A flow's bytes count when its records are written: every second. The idle timeout
        // stays at its default: these flows send ten packets a second, and past a flow's
        // first 16 packets the kernel reads the clock only every 64th, so a 2 s one would
        // end them mid-transfer.
        "--active-timeout",
        "1",
        "--web",
        &format!("127.0.0.1:{WEB_PORT}"),
    ]);

    // Two servers in B, two clients streaming to them from A as two users.
    let name = peer_name();
    let mut peers = Vec::new();
    let mut pids = Vec::new();
    for i in 0..2 {
        let server = PeerSpec {
            netns: Some(&b),
            uid: None,
            cgroup: Some(&cg),
        };
        let bind = format!("{}:{}", veth.b_ip, PORTS[i]);
        let (srv, _) = server.start("serve-tcp", &[&bind, "1", "100"]);
        peers.push(Peer(srv));
        let client = PeerSpec {
            netns: Some(&a),
            uid: Some(UIDS[i]),
            cgroup: Some(&cg),
        };
        let (c, _) = client.start(
            "stream-tcp",
            &[&bind, &CHUNKS[i].to_string(), &PERIOD_MS.to_string()],
        );
        pids.push(c.id());
        peers.push(Peer(c));
    }
    let labels: Vec<String> = pids.iter().map(|pid| format!("{name} ({pid})")).collect();

    browser.goto(&format!("http://127.0.0.1:{WEB_PORT}/"));

    // 1. The chart: drawn, a line per client in the legend with a rate, above the zero line.
    let s = wait_page(&browser, "both clients charted with a rate", |s| {
        s["ink"].as_u64() > Some(0)
            && s["series"].as_u64() >= Some(2)
            && labels
                .iter()
                .all(|l| legend_entry(s, l).is_some_and(moving))
    });
    assert!(!s["error"].as_bool().unwrap(), "{s:#}");
    let mut ink = Value::Null;
    let drawn = wait_for(DEADLINE, || {
        ink = browser.execute(INK_ABOVE_ZERO);
        labels.iter().all(|l| {
            ink.as_object()
                .unwrap()
                .iter()
                .any(|(entry, n)| entry.starts_with(&format!("{l} ")) && n.as_u64().unwrap() > 100)
        })
    });
    assert!(drawn, "a client's line is flat at zero: {ink:#}");

    // 2. The flows table: both clients' flows, then only the second's once its server's
    // port is typed into the search box.
    let remote = PORTS.map(|p| format!("{}:{p}", veth.b_ip));
    let shows = |s: &Value, i: usize| {
        rows(s)
            .iter()
            .any(|r| r[2] == remote[i] && r[3] == labels[i] && r[4] == USERS[i])
    };
    wait_page(&browser, "both clients' flows", |s| {
        shows(s, 0) && shows(s, 1)
    });
    // Each key typed starts a refresh. The answer to the first one's search (`6`, which
    // matches both flows) is held back half a second, as from a busy server: it comes back
    // after the later ones and must not replace what they drew. Every redraw of the table is
    // logged (its rows' remote ends).
    browser.execute(&format!(
        r##"
        window.tableDraws = [];
        new MutationObserver(() => window.tableDraws.push(
          [...document.querySelectorAll("#flows tbody tr")].map((tr) => tr.cells[2].textContent)))
          .observe(document.querySelector("#flows tbody"), {{ childList: true }});
        const fetch = window.fetch;
        window.fetch = (url, opts) => fetch(url, opts).then((r) => String(url).endsWith("&q={first}")
          ? new Promise((ok) => setTimeout(() => ok(r), 500)) : r);
        "##,
        first = &PORTS[1].to_string()[..1],
    ));
    let search = browser.find("#search");
    browser.type_into(&search, &PORTS[1].to_string());
    // One row: the flow, seen from its client (the server's end is in B, not captured).
    let only_second = |s: &Value| {
        let rows = rows(s);
        rows.len() == 1
            && rows.iter().all(|r| {
                r[0] == "tcp"
                    && r[1].starts_with(&format!("{}:", veth.a_ip))
                    && r[2] == remote[1]
                    && r[3] == labels[1]
                    && r[4] == USERS[1]
            })
    };
    let s = wait_page(&browser, "the second client's flow alone", only_second);
    assert!(!shows(&s, 0), "{s:#}");
    assert_eq!(s["count"], "(1 of 1)", "{s:#}");
    // Past the held-back answer and the next refreshes: once drawn, the filtered table stays.
    std::thread::sleep(Duration::from_millis(1500));
    let draws: Vec<Vec<String>> =
        serde_json::from_value(browser.execute("return window.tableDraws")).unwrap();
    let filtered = vec![remote[1].clone()];
    let first = draws.iter().position(|d| *d == filtered);
    let first = first.unwrap_or_else(|| panic!("never drawn filtered: {draws:#?}"));
    assert!(
        draws[first..].iter().all(|d| *d == filtered),
        "an older search's answer replaced the filtered table: {draws:#?}"
    );
    let s = browser.execute(STATE);
    assert!(only_second(&s), "the filter was lost: {s:#}");

    // 3. The chart by user: the clients' users, each with a rate; no process lines.
    let by_user = browser.find("#chart-by option[value=user]");
    browser.click(&by_user);
    let s = wait_page(&browser, "the chart by user", |s| {
        USERS.iter().all(|u| legend_entry(s, u).is_some_and(moving))
    });
    assert!(
        !s["legend"].to_string().contains(&name),
        "process lines left in the legend by user: {s:#}"
    );
    assert!(
        only_second(&s),
        "switching the chart lost the filter: {s:#}"
    );
    assert!(!s["error"].as_bool().unwrap(), "{s:#}");

    // 4. A screenshot of all that.
    let png = browser.screenshot();
    let (w, h, idat) = png_info(&png).unwrap_or_else(|e| panic!("not a valid PNG: {e}"));
    assert!(w >= 800 && h >= 600, "{w}x{h}");
    // A blank page of that size compresses to a few KiB; text, tables and a chart do not.
    assert!(idat > 20_000, "only {idat} bytes of image data");
    // target/debug/deps/<this test> -> target/
    let target = std::env::current_exe().unwrap();
    let target = target.ancestors().nth(3).unwrap();
    let out = target.join("web-dashboard.png");
    std::fs::write(&out, &png).unwrap();
    eprintln!(
        "screenshot: {} ({w}x{h}, {} bytes)",
        out.display(),
        png.len()
    );
}
