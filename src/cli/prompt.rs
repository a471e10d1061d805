//! A one-line text prompt that Esc leaves, drawn in the menus' theme.
//!
//! dialoguer's `Input` has no way out: Esc is ignored and only Ctrl-C ends it, which ends the
//! whole session. [`TextPrompt`] reads keys with `console` (dialoguer's own terminal crate) and
//! answers `None` on Esc, or on an answer of `q` alone, the key that leaves the menus. A
//! [`hidden`](TextPrompt::hidden) one reads a secret such as a passphrase without echoing it. A refused
//! answer is explained on the line above the prompt and asked again; every line drawn, wrapped
//! ones included, is cleared once the prompt is answered, so only the one-line summary stays.

use dialoguer::console::{measure_text_width, Key, Term};
use dialoguer::theme::Theme;

/// The answer that goes back, as `q` does in the menus.
pub const BACK: &str = "q";

/// A text prompt: a question, an optional default taken on an empty answer, and a parser that
/// either accepts the answer or says why not.
pub struct TextPrompt<'a> {
    theme: &'a dyn Theme,
    prompt: String,
    default: Option<String>,
    /// Whether the answer is a secret: typed without echo, summarised without its text.
    hidden: bool,
}

impl<'a> TextPrompt<'a> {
    pub fn new(theme: &'a dyn Theme, prompt: impl Into<String>) -> TextPrompt<'a> {
        TextPrompt {
            theme,
            prompt: prompt.into(),
            default: None,
            hidden: false,
        }
    }

    /// Offers `default` in the prompt and takes it when the answer is empty.
    pub fn default(mut self, default: impl Into<String>) -> TextPrompt<'a> {
        self.default = Some(default.into());
        self
    }

    /// Makes the answer a secret, such as a passphrase: nothing of it is shown.
    pub fn hidden(mut self) -> TextPrompt<'a> {
        self.hidden = true;
        self
    }

    /// Asks on stderr until `parse` accepts the answer; `None` when the user goes back.
    pub fn ask<T>(
        &self,
        mut parse: impl FnMut(&str) -> Result<T, String>,
    ) -> Result<Option<T>, dialoguer::Error> {
        let term = Term::stderr();
        let mut screen = Screen::default();
        let mut error: Option<String> = None;
        loop {
            let mut line = Line::default();
            let answer = loop {
                let shown = self.error(error.as_deref())?;
                let echo = match self.hidden {
                    true => &Line::default(),
                    false => &line,
                };
                screen.draw(&term, &self.head()?, shown.as_deref(), echo)?;
                match term.read_key()? {
                    Key::Escape => break None,
                    Key::Enter => break Some(line.text()),
                    key => line.edit(key),
                }
            };
            let answer = match answer {
                Some(text) if text.trim() == BACK => None,
                Some(text) if text.is_empty() => self.default.clone().or(Some(text)),
                other => other,
            };
            let Some(answer) = answer else {
                screen.clear(&term)?;
                return Ok(None);
            };
            match parse(&answer) {
                Ok(value) => {
                    screen.clear(&term)?;
                    let mut done = String::new();
                    let shown = match self.hidden {
                        true => "[hidden]",
                        false => &answer,
                    };
                    self.theme
                        .format_input_prompt_selection(&mut done, &self.prompt, shown)
                        .map_err(fmt_error)?;
                    term.write_line(&done)?;
                    return Ok(Some(value));
                }
                Err(why) => error = Some(why),
            }
        }
    }

    /// The prompt as drawn before the answer.
    fn head(&self) -> Result<String, dialoguer::Error> {
        let mut head = String::new();
        self.theme
            .format_input_prompt(&mut head, &self.prompt, self.default.as_deref())
            .map_err(fmt_error)?;
        Ok(head)
    }

    fn error(&self, error: Option<&str>) -> Result<Option<String>, dialoguer::Error> {
        let Some(error) = error else {
            return Ok(None);
        };
        let mut line = String::new();
        self.theme
            .format_error(&mut line, error)
            .map_err(fmt_error)?;
        Ok(Some(line))
    }
}

/// Formatting into a `String` fails only if a theme's `Display` does; report it as a terminal
/// error rather than panic.
fn fmt_error(_: std::fmt::Error) -> dialoguer::Error {
    std::io::Error::other("a prompt could not be formatted").into()
}

/// The answer being typed and the cursor in it, in characters.
#[derive(Default)]
struct Line {
    chars: Vec<char>,
    cursor: usize,
}

impl Line {
    fn text(&self) -> String {
        self.chars.iter().collect()
    }

    fn edit(&mut self, key: Key) {
        match key {
            // Ctrl-U, as in a shell: drop everything before the cursor.
            Key::Char('\u{15}') => {
                self.chars.drain(..self.cursor);
                self.cursor = 0;
            }
            Key::Char(c) if !c.is_control() => {
                self.chars.insert(self.cursor, c);
                self.cursor += 1;
            }
            Key::Backspace if self.cursor > 0 => {
                self.cursor -= 1;
                self.chars.remove(self.cursor);
            }
            Key::Del if self.cursor < self.chars.len() => {
                self.chars.remove(self.cursor);
            }
            Key::ArrowLeft => self.cursor = self.cursor.saturating_sub(1),
            Key::ArrowRight => self.cursor = (self.cursor + 1).min(self.chars.len()),
            Key::Home => self.cursor = 0,
            Key::End => self.cursor = self.chars.len(),
            _ => {}
        }
    }
}

/// What the prompt has drawn: the row the cursor is on, counted from the first row drawn, so
/// that a redraw or a clear starts from there whatever wrapped.
#[derive(Default)]
struct Screen {
    cursor_row: usize,
}

impl Screen {
    /// Redraws the error line (if any) and the prompt with the answer so far, and puts the
    /// cursor where the next key goes.
    fn draw(
        &mut self,
        term: &Term,
        head: &str,
        error: Option<&str>,
        line: &Line,
    ) -> std::io::Result<()> {
        self.clear(term)?;
        let columns = term_columns(term);
        let mut rows_above = 0;
        if let Some(error) = error {
            term.write_line(error)?;
            rows_above = rows(measure_text_width(error), columns);
        }
        let text = line.text();
        term.write_str(head)?;
        term.write_str(&text)?;
        let end = measure_text_width(head) + measure_text_width(&text);
        if end > 0 && end.is_multiple_of(columns) {
            // The cursor waits on the last column of a full row; put it on the next row, where
            // the arithmetic below expects it.
            term.write_str("\r\n")?;
        }
        let before: String = line.chars[..line.cursor].iter().collect();
        let at = measure_text_width(head) + measure_text_width(&before);
        let (end_row, at_row) = (end / columns, at / columns);
        if end_row > at_row {
            term.move_cursor_up(end_row - at_row)?;
        }
        term.write_str("\r")?;
        if !at.is_multiple_of(columns) {
            term.move_cursor_right(at % columns)?;
        }
        term.flush()?;
        self.cursor_row = rows_above + at_row;
        Ok(())
    }

    /// Erases every row drawn and leaves the cursor where the first one began.
    fn clear(&mut self, term: &Term) -> std::io::Result<()> {
        if self.cursor_row > 0 {
            term.move_cursor_up(self.cursor_row)?;
        }
        term.write_str("\r")?;
        term.clear_to_end_of_screen()?;
        self.cursor_row = 0;
        term.flush()
    }
}

/// The width of `term` in columns (at least one).
pub fn term_columns(term: &Term) -> usize {
    usize::from(term.size().1).max(1)
}

/// The rows a line of `width` columns takes on a terminal `columns` wide (at least one).
pub fn rows(width: usize, columns: usize) -> usize {
    width.div_ceil(columns).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_wrap_into_whole_rows() {
        assert_eq!(rows(0, 80), 1);
        assert_eq!(rows(80, 80), 1);
        assert_eq!(rows(81, 80), 2);
        assert_eq!(rows(200, 80), 3);
    }

    #[test]
    fn editing_keys_move_the_cursor_and_change_the_text() {
        let mut line = Line::default();
        for key in [
            Key::Char('a'),
            Key::Char('c'),
            Key::ArrowLeft,
            Key::Char('b'),
        ] {
            line.edit(key);
        }
        assert_eq!((line.text().as_str(), line.cursor), ("abc", 2));
        line.edit(Key::Home);
        line.edit(Key::Del);
        assert_eq!((line.text().as_str(), line.cursor), ("bc", 0));
        line.edit(Key::End);
        line.edit(Key::Backspace);
        assert_eq!(line.text(), "b");
        line.edit(Key::Char('\u{15}'));
        assert_eq!((line.text().as_str(), line.cursor), ("", 0));
        // Control characters other than Ctrl-U are not text.
        line.edit(Key::Char('\u{7}'));
        assert_eq!(line.text(), "");
    }
}
