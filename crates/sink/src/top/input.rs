//! Keys to actions. Kept apart from the terminal so the key map is tested without one.

use super::group::Grouping;
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// What a key asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Show rows of this grouping (back at the top level).
    Group(Grouping),
    /// Open the selected row: a group's flows, or a flow's details.
    Enter,
    /// Back up one level (at the top: clear the filter).
    Back,
    /// Cursor up one row.
    Up,
    /// Cursor down one row.
    Down,
    /// Cursor up one page.
    PageUp,
    /// Cursor down one page.
    PageDown,
    /// Cursor to the first row.
    First,
    /// Cursor to the last row.
    Last,
    /// Open the filter prompt.
    Filter,
    /// Leave.
    Quit,
    /// A character typed into the filter prompt.
    Type(char),
    /// Delete the last character of the prompt.
    Erase,
    /// Keep the filter typed and close the prompt.
    Accept,
    /// Close the prompt and restore the filter it started with.
    Cancel,
}

/// The action of a key, if any; `prompting` when the filter prompt is open, where letters
/// are text rather than commands.
pub fn action(key: KeyEvent, prompting: bool) -> Option<Action> {
    // Key release and repeat events (kitty protocol, Windows) would act twice.
    if key.kind != KeyEventKind::Press {
        return None;
    }
    // In raw mode Ctrl-C is a key, not SIGINT: it must still quit, prompt or not.
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return match key.code {
            KeyCode::Char('c') => Some(Action::Quit),
            _ => None,
        };
    }
    let moves = match key.code {
        KeyCode::Up => Some(Action::Up),
        KeyCode::Down => Some(Action::Down),
        KeyCode::PageUp => Some(Action::PageUp),
        KeyCode::PageDown => Some(Action::PageDown),
        _ => None,
    };
    if moves.is_some() {
        return moves;
    }
    if prompting {
        return match key.code {
            KeyCode::Char(c) => Some(Action::Type(c)),
            KeyCode::Backspace => Some(Action::Erase),
            KeyCode::Enter => Some(Action::Accept),
            KeyCode::Esc => Some(Action::Cancel),
            _ => None,
        };
    }
    Some(match key.code {
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Char('p') => Action::Group(Grouping::Process),
        KeyCode::Char('u') => Action::Group(Grouping::User),
        KeyCode::Char('c') => Action::Group(Grouping::Container),
        KeyCode::Char('h') => Action::Group(Grouping::Host),
        KeyCode::Char('f') => Action::Group(Grouping::Flow),
        KeyCode::Char('/') => Action::Filter,
        KeyCode::Char('k') => Action::Up,
        KeyCode::Char('j') => Action::Down,
        KeyCode::Char('g') | KeyCode::Home => Action::First,
        KeyCode::Char('G') | KeyCode::End => Action::Last,
        KeyCode::Enter | KeyCode::Right => Action::Enter,
        KeyCode::Esc | KeyCode::Backspace | KeyCode::Left => Action::Back,
        _ => return None,
    })
}

/// The keys, as the footer lists them.
pub const HELP: &str =
    "p/u/c/h/f group  \u{2191}\u{2193}/j/k move  Enter open  Esc back  / filter  q quit";

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn commands_outside_the_prompt_text_inside() {
        assert_eq!(
            action(key(KeyCode::Char('h')), false),
            Some(Action::Group(Grouping::Host))
        );
        assert_eq!(
            action(key(KeyCode::Char('h')), true),
            Some(Action::Type('h'))
        );
        assert_eq!(action(key(KeyCode::Char('q')), false), Some(Action::Quit));
        assert_eq!(
            action(key(KeyCode::Char('q')), true),
            Some(Action::Type('q'))
        );
        assert_eq!(action(key(KeyCode::Backspace), false), Some(Action::Back));
        assert_eq!(action(key(KeyCode::Backspace), true), Some(Action::Erase));
        assert_eq!(action(key(KeyCode::Esc), true), Some(Action::Cancel));
        assert_eq!(action(key(KeyCode::Char('j')), false), Some(Action::Down));
        assert_eq!(action(key(KeyCode::Down), true), Some(Action::Down));
        assert_eq!(action(key(KeyCode::Char('x')), false), None);
    }

    #[test]
    fn ctrl_c_quits_everywhere_and_releases_do_nothing() {
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(action(ctrl_c, false), Some(Action::Quit));
        assert_eq!(action(ctrl_c, true), Some(Action::Quit));
        let mut release = key(KeyCode::Char('q'));
        release.kind = KeyEventKind::Release;
        assert_eq!(action(release, false), None);
    }
}
