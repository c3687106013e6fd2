//! The drawing: a header line (where you are, row count, filter, rate window, source), the
//! table or the flow's details, and a footer with the keys (or the filter prompt).
//!
//! It draws onto any ratatui backend, so the tests render into a `TestBackend` and compare
//! the buffer line by line. Redrawing is cheap: ratatui keeps the previous frame and sends the
//! terminal only the cells that changed, so a refresh does not flicker.

use super::app::{App, Screen};
use super::format;
use super::group::{self, Row};
use super::input::HELP;
use super::model::{End, FlowEntry, Model, OwnerKey, ProtoLine};
use flowsight_record::EndReason;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Cell, HighlightSpacing, Paragraph, Row as TableRow, Table, TableState};

/// Titles of the number columns of group rows.
const NUMBER_COLUMNS: [&str; 5] = ["FLOWS", "UP/s", "DOWN/s", "UP", "DOWN"];

/// Draw the whole screen. `status` says where the records come from (live, or a file and
/// how far it was read).
pub fn draw(frame: &mut Frame<'_>, app: &App, model: &Model, status: &str) {
    let [head, body, foot] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    let screen = app.screen(model);
    let count = match &screen {
        Screen::List { rows, .. } if rows.len() == 1 => "1 row".to_string(),
        Screen::List { rows, .. } => format!("{} rows", rows.len()),
        Screen::Flow { .. } => "1 flow".to_string(),
    };
    let filter = if app.filter.is_empty() {
        "-"
    } else {
        app.filter.as_str()
    };
    let header = format!(
        "flowsight top | {} | {count} | filter: {filter} | rates over {} | {status}",
        app.breadcrumb(),
        format::seconds(model.window_secs()),
    );
    frame.render_widget(
        Paragraph::new(header).style(Style::new().add_modifier(Modifier::BOLD)),
        head,
    );
    match screen {
        Screen::List {
            columns,
            rows,
            selected,
        } => table(frame, body, columns, &rows, selected, app),
        Screen::Flow {
            flow,
            local_is_source,
            records,
        } => details(
            frame,
            body,
            flow.as_deref(),
            local_is_source,
            &records,
            model,
        ),
    }
    let footer = match &app.prompt {
        Some(_) => format!("filter: {}\u{2588}  (Enter keep, Esc cancel)", app.filter),
        None => HELP.to_string(),
    };
    frame.render_widget(
        Paragraph::new(footer).style(Style::new().add_modifier(Modifier::REVERSED)),
        foot,
    );
}

fn right(s: impl Into<String>) -> Cell<'static> {
    Cell::from(Line::from(s.into()).right_aligned())
}

fn table(
    frame: &mut Frame<'_>,
    area: Rect,
    columns: &[&str],
    rows: &[Row],
    selected: Option<usize>,
    app: &App,
) {
    let flows = columns == group::FLOW_COLUMNS;
    let mut widths: Vec<Constraint> = columns
        .iter()
        .map(|c| match *c {
            "PID" => Constraint::Length(7),
            "USER" if columns.len() > 1 => Constraint::Length(12),
            "PROTO" => Constraint::Length(5),
            "PROCESS" if flows => Constraint::Length(12),
            "STATE" => Constraint::Length(5),
            _ => Constraint::Fill(1),
        })
        .collect();
    let numbers: &[&str] = if flows {
        &NUMBER_COLUMNS[1..]
    } else {
        &NUMBER_COLUMNS
    };
    // Wide enough for the longest value: `1023.9 KiB/s`, `1023.9 KiB`.
    widths.extend(numbers.iter().map(|n| match *n {
        "FLOWS" => Constraint::Length(6),
        "UP/s" | "DOWN/s" => Constraint::Length(12),
        _ => Constraint::Length(10),
    }));
    let header = TableRow::new(
        columns
            .iter()
            .map(|c| Cell::from(*c))
            .chain(numbers.iter().map(|n| right(*n))),
    )
    .style(Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED));
    let body = rows.iter().map(|r| {
        let mut cells: Vec<Cell> = r.cells.iter().map(|c| Cell::from(c.clone())).collect();
        if !flows {
            cells.push(right(r.flows.to_string()));
        }
        cells.extend([
            right(format::rate(r.rate[0])),
            right(format::rate(r.rate[1])),
            right(format::bytes(r.total[0])),
            right(format::bytes(r.total[1])),
        ]);
        TableRow::new(cells)
    });
    let t = Table::new(body, widths)
        .header(header)
        .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED))
        .highlight_symbol("> ")
        .highlight_spacing(HighlightSpacing::Always);
    let mut state = TableState::default()
        .with_offset(app.offset.get())
        .with_selected(selected);
    frame.render_stateful_widget(t, area, &mut state);
    // Keep the scroll position: a fresh offset each frame would pin the cursor to the
    // bottom line while scrolling up.
    app.offset.set(state.offset());
    if rows.is_empty() && area.height > 1 {
        let why = if app.filter.is_empty() {
            "  no traffic yet"
        } else {
            "  nothing matches the filter"
        };
        let [_, line] =
            Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(area);
        frame.render_widget(Paragraph::new(why), line);
    }
}

fn owner(end: &End) -> String {
    match &end.owner {
        Some(OwnerKey {
            pid,
            process,
            user,
            container,
        }) => {
            let mut s = format!("{process} (pid {pid}), user {user}");
            if let Some(c) = container {
                s.push_str(&format!(
                    ", container {}",
                    c.chars().take(12).collect::<String>()
                ));
            }
            s
        }
        None => "-".into(),
    }
}

fn details(
    frame: &mut Frame<'_>,
    area: Rect,
    flow: Option<&FlowEntry>,
    local_is_source: bool,
    records: &[ProtoLine],
    model: &Model,
) {
    let Some(f) = flow else {
        let text = format!(
            "  This flow is no longer kept (top keeps the last {} flows). Esc: back.",
            model.limits().flows
        );
        frame.render_widget(Paragraph::new(text), area);
        return;
    };
    let (local, remote) = if local_is_source {
        (&f.source, &f.destination)
    } else {
        (&f.destination, &f.source)
    };
    let (up, down) = if local_is_source { (0, 1) } else { (1, 0) };
    let arrow = if local_is_source { "->" } else { "<-" };
    let mut lines = vec![
        format!(
            "{} {} {arrow} {}{}",
            group::transport(f.transport),
            group::endpoint(local.ip, local.port),
            group::endpoint(remote.ip, remote.port),
            f.interface
                .as_ref()
                .map(|i| format!(" on {i}"))
                .unwrap_or_default()
        ),
        format!(
            "state     {}",
            match f.reason {
                EndReason::ActiveTimeout => "open",
                EndReason::End => "ended (FIN from both sides, or RST)",
                EndReason::IdleTimeout => "over (idle timeout)",
                EndReason::Shutdown => "open when the capture stopped",
                EndReason::Evicted => "evicted from a full flow table",
            }
        ),
        format!("started   {}", f.start),
        format!(
            "last      {} ({})",
            f.end,
            format::seconds(f.end.nanos_since(f.start) as f64 / 1e9)
        ),
        format!("local     {}", owner(local)),
        format!("remote    {}", owner(remote)),
        format!(
            "up        {} ({} bytes), {}",
            format::bytes(f.bytes[up]),
            f.bytes[up],
            format::rate(f.rate[up])
        ),
        format!(
            "down      {} ({} bytes), {}",
            format::bytes(f.bytes[down]),
            f.bytes[down],
            format::rate(f.rate[down])
        ),
        format!("community {}", f.id.community_id),
        String::new(),
    ];
    if records.is_empty() {
        lines.push("no HTTP, DNS or TLS records for this connection".into());
    } else {
        lines.push("last protocol records".into());
        lines.extend(
            records
                .iter()
                .rev()
                .map(|r| format!("  {:<4}  {}", r.kind, r.summary)),
        );
    }
    let text: Vec<Line> = lines.into_iter().map(Line::from).collect();
    frame.render_widget(Paragraph::new(text), area);
}
