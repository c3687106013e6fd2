//! What the user is looking at: the grouping, the drill-down levels, the cursor of each, and
//! the filter. Actions change it; the view draws it.

use super::group::{self, Grouping, Row};
use super::input::Action;
use super::model::{FlowEntry, FlowId, Model, ProtoLine};

/// A level below the top list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Level {
    /// The flows of one row of a grouping.
    Group {
        /// The grouping the row was in.
        grouping: Grouping,
        /// The row's key.
        key: String,
        /// The row as the header names it.
        label: String,
    },
    /// One flow's details and last protocol records.
    Flow {
        /// The flow.
        id: FlowId,
        /// Seen from its initiator (else from its responder).
        local_is_source: bool,
    },
}

/// Where the cursor of one list is: on a row key, which it follows as rows move; on an index
/// when that row is gone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Cursor {
    key: Option<String>,
    index: usize,
}

/// What one screen shows.
#[derive(Debug, Clone)]
pub enum Screen {
    /// A table.
    List {
        /// Titles of the key columns.
        columns: &'static [&'static str],
        /// The rows, sorted.
        rows: Vec<Row>,
        /// The row under the cursor.
        selected: Option<usize>,
    },
    /// A flow.
    Flow {
        /// The flow, if still kept (boxed: it is much larger than a list).
        flow: Option<Box<FlowEntry>>,
        /// Seen from its initiator.
        local_is_source: bool,
        /// Its last protocol records, oldest first.
        records: Vec<ProtoLine>,
    },
}

/// The state of the view.
#[derive(Debug, Clone)]
pub struct App {
    /// The grouping of the top level.
    pub grouping: Grouping,
    /// Levels opened below the top list, outermost first.
    pub levels: Vec<Level>,
    cursors: Vec<Cursor>,
    /// The filter in force (case-insensitive substring).
    pub filter: String,
    /// While the filter prompt is open: the filter it started with (Esc restores it).
    pub prompt: Option<String>,
    /// Set by [`Action::Quit`].
    pub quit: bool,
    /// Rows a page move skips (the table's height).
    pub page: usize,
    /// First row shown of the current table; kept between frames by the view so scrolling
    /// moves the window only when the cursor leaves it.
    pub offset: std::cell::Cell<usize>,
}

impl App {
    /// The top level of `grouping`, no filter.
    pub fn new(grouping: Grouping) -> App {
        App {
            grouping,
            levels: Vec::new(),
            cursors: vec![Cursor::default()],
            filter: String::new(),
            prompt: None,
            quit: false,
            page: 10,
            offset: std::cell::Cell::new(0),
        }
    }

    /// True while the filter prompt is open.
    pub fn prompting(&self) -> bool {
        self.prompt.is_some()
    }

    /// What the current level shows, from the model as it is now.
    pub fn screen(&self, model: &Model) -> Screen {
        let list = |columns, rows: Vec<Row>| {
            let cursor = self.cursors.last().cloned().unwrap_or_default();
            let selected = (!rows.is_empty()).then(|| {
                cursor
                    .key
                    .as_ref()
                    .and_then(|k| rows.iter().position(|r| &r.key == k))
                    .unwrap_or(cursor.index.min(rows.len() - 1))
            });
            Screen::List {
                columns,
                rows,
                selected,
            }
        };
        match self.levels.last() {
            None => list(
                self.grouping.key_columns(),
                group::rows(model, self.grouping, &self.filter),
            ),
            Some(Level::Group { grouping, key, .. }) => list(
                &group::FLOW_COLUMNS,
                group::flows_in(model, *grouping, key, &self.filter),
            ),
            Some(Level::Flow {
                id,
                local_is_source,
            }) => {
                let flow = model.flow_entry(id).cloned().map(Box::new);
                Screen::Flow {
                    flow,
                    local_is_source: *local_is_source,
                    records: model.protocol_records(&id.community_id).cloned().collect(),
                }
            }
        }
    }

    /// Where the levels are, as the header shows it: `process > curl (1234) > flows > flow`.
    pub fn breadcrumb(&self) -> String {
        let mut parts = vec![self.grouping.name().to_string()];
        for l in &self.levels {
            match l {
                Level::Group { label, .. } => {
                    parts.push(label.clone());
                    parts.push("flows".into());
                }
                Level::Flow { .. } => parts.push("flow".into()),
            }
        }
        parts.join(" > ")
    }

    /// Apply one action.
    pub fn apply(&mut self, action: Action, model: &Model) {
        let depth = self.levels.len();
        match action {
            Action::Quit => self.quit = true,
            Action::Group(g) => {
                self.grouping = g;
                self.levels.clear();
                self.cursors = vec![Cursor::default()];
            }
            Action::Filter => self.prompt = Some(self.filter.clone()),
            Action::Type(c) => {
                self.filter.push(c);
                self.reset_cursor();
            }
            Action::Erase => {
                self.filter.pop();
                self.reset_cursor();
            }
            Action::Accept => self.prompt = None,
            Action::Cancel => {
                if let Some(before) = self.prompt.take() {
                    self.filter = before;
                }
            }
            Action::Back => {
                if self.levels.pop().is_some() {
                    self.cursors.pop();
                } else {
                    // Nothing to go back to: Esc at the top clears the filter.
                    self.filter.clear();
                }
            }
            Action::Enter => self.enter(model),
            Action::Up => self.step(model, -1),
            Action::Down => self.step(model, 1),
            Action::PageUp => self.step(model, -(self.page.max(1) as isize)),
            Action::PageDown => self.step(model, self.page.max(1) as isize),
            Action::First => self.step(model, isize::MIN / 2),
            Action::Last => self.step(model, isize::MAX / 2),
        }
        // Another table: its scroll position starts over.
        if self.levels.len() != depth || matches!(action, Action::Group(_)) {
            self.offset.set(0);
        }
    }

    /// A changed filter changes the rows: start at the first one.
    fn reset_cursor(&mut self) {
        if let Some(c) = self.cursors.last_mut() {
            *c = Cursor::default();
        }
        self.offset.set(0);
    }

    fn step(&mut self, model: &Model, by: isize) {
        let Screen::List { rows, selected, .. } = self.screen(model) else {
            return;
        };
        let Some(at) = selected else {
            return;
        };
        let to = (at as isize)
            .saturating_add(by)
            .clamp(0, rows.len() as isize - 1) as usize;
        if let Some(c) = self.cursors.last_mut() {
            *c = Cursor {
                key: Some(rows[to].key.clone()),
                index: to,
            };
        }
    }

    fn enter(&mut self, model: &Model) {
        let Screen::List { rows, selected, .. } = self.screen(model) else {
            return;
        };
        let Some(row) = selected.map(|i| &rows[i]) else {
            return;
        };
        // Pin the cursor to the row opened, so Back returns to it.
        if let Some(c) = self.cursors.last_mut() {
            c.key = Some(row.key.clone());
        }
        let level = match &row.flow {
            Some((id, local_is_source)) => Level::Flow {
                id: id.clone(),
                local_is_source: *local_is_source,
            },
            None => Level::Group {
                grouping: self.grouping,
                key: row.key.clone(),
                label: match self.grouping {
                    Grouping::Process => format!("{} ({})", row.cells[1], row.cells[0]),
                    _ => row.cells.join(" "),
                },
            },
        };
        self.levels.push(level);
        self.cursors.push(Cursor::default());
    }
}
