//! Snapshot tests: a model fed hand-made records, drawn into ratatui's `TestBackend`, and
//! every line of the screen compared.

use super::app::App;
use super::group::Grouping;
use super::input::Action;
use super::model::tests::flow;
use super::model::{Limits, Model};
use super::view::draw;
use flowsight_record::{EndReason, Record, Timestamp};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const W: u16 = 120;
const H: u16 = 9;

fn screen(app: &App, model: &Model) -> Vec<String> {
    screen_of(app, model, H)
}

/// The screen's lines, `h` high, trailing blanks cut (styles are not compared).
fn screen_of(app: &App, model: &Model, h: u16) -> Vec<String> {
    let mut t = Terminal::new(TestBackend::new(W, h)).unwrap();
    t.draw(|f| draw(f, app, model, "test")).unwrap();
    let buf = t.backend().buffer();
    (0..h)
        .map(|y| {
            (0..W)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
                .trim_end()
                .to_string()
        })
        .collect()
}

/// Three processes: curl (two flows, one with an HTTP record), wget, and traffic without an
/// owner; one second of window.
fn model() -> Model {
    let mut m = Model::new(Limits::default());
    m.tick(Timestamp(1_795_333_024_000_000_000));
    let end = EndReason::End;
    for r in [
        flow(
            "10.0.0.1:40000",
            "93.184.216.34:80",
            Some((1234, "curl", "alice")),
            end,
            [2048, 204_800],
        ),
        flow(
            "10.0.0.1:40001",
            "9.9.9.9:53",
            Some((1234, "curl", "alice")),
            end,
            [70, 130],
        ),
        flow(
            "10.0.0.1:40002",
            "93.184.216.34:443",
            Some((99, "wget", "bob")),
            EndReason::ActiveTimeout,
            [500, 3000],
        ),
        flow("10.0.0.1:40003", "192.0.2.7:123", None, end, [90, 90]),
    ] {
        m.observe(&r);
    }
    let Record::Http(mut h) = Record::examples().remove(2) else {
        unreachable!()
    };
    h.conn.network.community_id = "1:10.0.0.1:40000-93.184.216.34:80".into();
    m.observe(&Record::Http(h));
    m.tick(Timestamp(1_795_333_025_000_000_000));
    m
}

fn apply(app: &mut App, m: &Model, actions: &[Action]) {
    for a in actions {
        app.apply(*a, m);
    }
}

const HELP: &str = "p/u/c/h/f group  ↑↓/j/k move  Enter open  Esc back  / filter  q quit";

#[track_caller]
fn assert_screen(app: &App, m: &Model, expected: &[&str]) {
    let got = screen(app, m);
    let want: Vec<String> = expected.iter().map(|l| l.to_string()).collect();
    assert_eq!(got, want, "\ngot:\n{}\n", got.join("\n"));
}

#[test]
fn rows_by_process_sorted_by_rate_with_header_and_footer() {
    let m = model();
    let app = App::new(Grouping::Process);
    assert_screen(
        &app,
        &m,
        &[
            "flowsight top | process | 3 rows | filter: - | rates over 1.0 s | test",
            "  PID     PROCESS                                    USER          FLOWS         UP/s       DOWN/s         UP       DOWN",
            "> 1234    curl                                       alice             2    2.1 KiB/s  200.1 KiB/s    2.1 KiB  200.1 KiB",
            "  99      wget                                       bob               1      500 B/s    2.9 KiB/s      500 B    2.9 KiB",
            "  -       -                                          -                 1       90 B/s       90 B/s       90 B       90 B",
            "",
            "",
            "",
            HELP,
        ],
    );
}

#[test]
fn keys_switch_the_grouping() {
    let m = model();
    let mut app = App::new(Grouping::Process);
    apply(&mut app, &m, &[Action::Group(Grouping::Host)]);
    assert_screen(
        &app,
        &m,
        &[
            "flowsight top | host | 3 rows | filter: - | rates over 1.0 s | test",
            "  REMOTE HOST                                                      FLOWS         UP/s       DOWN/s         UP       DOWN",
            "> 93.184.216.34                                                        2    2.5 KiB/s  202.9 KiB/s    2.5 KiB  202.9 KiB",
            "  9.9.9.9                                                              1       70 B/s      130 B/s       70 B      130 B",
            "  192.0.2.7                                                            1       90 B/s       90 B/s       90 B       90 B",
            "",
            "",
            "",
            HELP,
        ],
    );
    apply(&mut app, &m, &[Action::Group(Grouping::Flow)]);
    assert_screen(
        &app,
        &m,
        &[
            "flowsight top | flow | 4 rows | filter: - | rates over 1.0 s | test",
            "  PROTO LOCAL                  REMOTE                 PROCESS      STATE         UP/s       DOWN/s         UP       DOWN",
            "> tcp   10.0.0.1:40000         93.184.216.34:80       curl         end      2.0 KiB/s  200.0 KiB/s    2.0 KiB  200.0 KiB",
            "  tcp   10.0.0.1:40002         93.184.216.34:443      wget         open       500 B/s    2.9 KiB/s      500 B    2.9 KiB",
            "  tcp   10.0.0.1:40001         9.9.9.9:53             curl         end         70 B/s      130 B/s       70 B      130 B",
            "  tcp   10.0.0.1:40003         192.0.2.7:123          -            end         90 B/s       90 B/s       90 B       90 B",
            "",
            "",
            HELP,
        ],
    );
    apply(&mut app, &m, &[Action::Group(Grouping::User)]);
    let s = screen(&app, &m);
    assert_eq!(
        s[0],
        "flowsight top | user | 3 rows | filter: - | rates over 1.0 s | test"
    );
    assert!(s[2].starts_with("> alice "), "{s:#?}");
    apply(&mut app, &m, &[Action::Group(Grouping::Container)]);
    let s = screen(&app, &m);
    assert!(s[2].starts_with("> c0ffee1234 "), "{s:#?}");
}

#[test]
fn drill_down_from_a_process_to_its_flows_to_a_flow_and_back() {
    let m = model();
    let mut app = App::new(Grouping::Process);
    apply(&mut app, &m, &[Action::Enter]);
    assert_screen(
        &app,
        &m,
        &[
            "flowsight top | process > curl (1234) > flows | 2 rows | filter: - | rates over 1.0 s | test",
            "  PROTO LOCAL                  REMOTE                 PROCESS      STATE         UP/s       DOWN/s         UP       DOWN",
            "> tcp   10.0.0.1:40000         93.184.216.34:80       curl         end      2.0 KiB/s  200.0 KiB/s    2.0 KiB  200.0 KiB",
            "  tcp   10.0.0.1:40001         9.9.9.9:53             curl         end         70 B/s      130 B/s       70 B      130 B",
            "",
            "",
            "",
            "",
            HELP,
        ],
    );
    apply(&mut app, &m, &[Action::Enter]);
    let want: Vec<String> = [
        "flowsight top | process > curl (1234) > flows > flow | 1 flow | filter: - | rates over 1.0 s | test                     ",
        "tcp 10.0.0.1:40000 -> 93.184.216.34:80                                                                                  ",
        "state     ended (FIN from both sides, or RST)                                                                           ",
        "started   2026-11-22T07:37:05.000000000Z                                                                                ",
        "last      2026-11-22T07:37:05.500000000Z (0.50 s)                                                                       ",
        "local     curl (pid 1234), user alice, container c0ffee1234                                                             ",
        "remote    -                                                                                                             ",
        "up        2.0 KiB (2048 bytes), 2.0 KiB/s                                                                               ",
        "down      200.0 KiB (204800 bytes), 200.0 KiB/s                                                                         ",
        "community 1:10.0.0.1:40000-93.184.216.34:80                                                                             ",
        "                                                                                                                        ",
        "last protocol records                                                                                                   ",
        "  http  GET example.com/index.html?q=1 -> 200 text/html (612 B)                                                         ",
        "                                                                                                                        ",
        "                                                                                                                        ",
        "p/u/c/h/f group  ↑↓/j/k move  Enter open  Esc back  / filter  q quit                                                    ",
    ]
    .iter()
    .map(|l| l.trim_end().to_string())
    .collect();
    assert_eq!(screen_of(&app, &m, 16), want);
    // Back to the flow list, then the second flow: no protocol records.
    apply(&mut app, &m, &[Action::Back, Action::Down, Action::Enter]);
    let s = screen(&app, &m);
    assert_eq!(s[1], "tcp 10.0.0.1:40001 -> 9.9.9.9:53");
    assert_eq!(
        screen_of(&app, &m, 16)[11],
        "no HTTP, DNS or TLS records for this connection"
    );
    // Back twice: the top list, the cursor still on curl.
    apply(&mut app, &m, &[Action::Back, Action::Back]);
    let s = screen(&app, &m);
    assert_eq!(
        s[0],
        "flowsight top | process | 3 rows | filter: - | rates over 1.0 s | test"
    );
    assert!(s[2].starts_with("> 1234"), "{s:#?}");
    // At the top, Back does nothing more.
    apply(&mut app, &m, &[Action::Back]);
    assert_eq!(screen(&app, &m), s);
}

#[test]
fn a_host_row_opens_its_flows_from_both_owners() {
    let m = model();
    let mut app = App::new(Grouping::Host);
    apply(&mut app, &m, &[Action::Enter]);
    let s = screen(&app, &m);
    assert_eq!(
        s[0],
        "flowsight top | host > 93.184.216.34 > flows | 2 rows | filter: - | rates over 1.0 s | test"
    );
    assert!(s[2].contains("curl") && s[3].contains("wget"), "{s:#?}");
}

#[test]
fn the_filter_prompt_narrows_rows_as_typed() {
    let m = model();
    let mut app = App::new(Grouping::Process);
    apply(
        &mut app,
        &m,
        &[Action::Filter, Action::Type('B'), Action::Type('O')],
    );
    assert_screen(
        &app,
        &m,
        &[
            "flowsight top | process | 1 row | filter: BO | rates over 1.0 s | test",
            "  PID     PROCESS                                    USER          FLOWS         UP/s       DOWN/s         UP       DOWN",
            "> 99      wget                                       bob               1      500 B/s    2.9 KiB/s      500 B    2.9 KiB",
            "",
            "",
            "",
            "",
            "",
            "filter: BO█  (Enter keep, Esc cancel)",
        ],
    );
    // Esc restores the filter the prompt started with (none).
    apply(&mut app, &m, &[Action::Cancel]);
    assert_eq!(
        screen(&app, &m)[0],
        "flowsight top | process | 3 rows | filter: - | rates over 1.0 s | test"
    );
    // A port, kept with Enter: only the flow to port 53 is left, in curl's row.
    apply(
        &mut app,
        &m,
        &[
            Action::Filter,
            Action::Type('5'),
            Action::Type('3'),
            Action::Accept,
        ],
    );
    assert_screen(
        &app,
        &m,
        &[
            "flowsight top | process | 1 row | filter: 53 | rates over 1.0 s | test",
            "  PID     PROCESS                                    USER          FLOWS         UP/s       DOWN/s         UP       DOWN",
            "> 1234    curl                                       alice             1       70 B/s      130 B/s       70 B      130 B",
            "",
            "",
            "",
            "",
            "",
            HELP,
        ],
    );
    apply(&mut app, &m, &[Action::Filter, Action::Type('z')]);
    let s = screen(&app, &m);
    assert_eq!(s[2], "  nothing matches the filter");
    // Esc at the top clears a kept filter.
    apply(&mut app, &m, &[Action::Cancel, Action::Back]);
    assert_eq!(
        screen(&app, &m)[0],
        "flowsight top | process | 3 rows | filter: - | rates over 1.0 s | test"
    );
}

#[test]
fn the_cursor_follows_its_row_when_the_order_changes() {
    let mut m = model();
    let mut app = App::new(Grouping::Process);
    apply(&mut app, &m, &[Action::Down]);
    assert!(screen(&app, &m)[3].starts_with("> 99 "));
    // wget becomes the busiest: it moves to the top, and the cursor with it.
    m.observe(&flow(
        "10.0.0.1:40002",
        "93.184.216.34:443",
        Some((99, "wget", "bob")),
        EndReason::ActiveTimeout,
        [500, 3_000_000],
    ));
    m.tick(Timestamp(1_795_333_026_000_000_000));
    let s = screen(&app, &m);
    assert!(s[2].starts_with("> 99 "), "{s:#?}");
    assert!(s[3].starts_with("  1234 "), "{s:#?}");
    // Moves stop at the ends.
    apply(&mut app, &m, &[Action::Up, Action::Up, Action::Up]);
    assert!(screen(&app, &m)[2].starts_with("> 99 "));
    apply(&mut app, &m, &[Action::Last]);
    assert!(screen(&app, &m)[4].starts_with("> - "));
    apply(&mut app, &m, &[Action::PageDown, Action::First]);
    assert!(screen(&app, &m)[2].starts_with("> 99 "));
}

#[test]
fn an_empty_model_says_so() {
    let m = Model::new(Limits::default());
    let app = App::new(Grouping::Host);
    let s = screen(&app, &m);
    assert_eq!(
        s[0],
        "flowsight top | host | 0 rows | filter: - | rates over 0.00 s | test"
    );
    assert_eq!(s[2], "  no traffic yet");
    // Keys on an empty list do nothing (and do not panic).
    let mut app = app;
    apply(
        &mut app,
        &m,
        &[Action::Down, Action::Enter, Action::Last, Action::Back],
    );
    assert!(app.levels.is_empty());
}
