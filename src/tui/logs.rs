//! The Logs pane's data: a bounded ring buffer of journal records from every
//! host, fed by a channel. Each record's ANSI colors are parsed into styled
//! spans once, on arrival; a drop counter tells how many old lines fell out.
//! The records are the engine's own [`LogRecord`]s; markers and drop counts arrive
//! as records of unit `raijin`. Filtering (text and priority), follow/pause, wrap
//! and timestamps are view settings over the buffer. This is the Logs tab's state:
//! its own keys (the filter line, the view toggles, scrolling) are handled here too.

use std::collections::VecDeque;

use ansi_to_tui::IntoText as _;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::text::{Line, Span};

use crate::keys::Action;
use crate::logs::LogRecord;

/// Lines kept by default.
pub const DEFAULT_CAPACITY: usize = 100_000;

/// A record with its message parsed once for display.
#[derive(Clone, Debug)]
pub struct LogLine {
    pub record: LogRecord,
    /// The message as styled spans (ANSI colors kept).
    pub styled: Line<'static>,
    /// The message without escape codes, for filtering.
    pub plain: String,
}

impl LogLine {
    pub fn new(record: LogRecord) -> LogLine {
        let styled = record
            .message
            .as_bytes()
            .into_text()
            .ok()
            .and_then(|t| t.lines.into_iter().next())
            .unwrap_or_else(|| Line::from(record.message.clone()));
        let plain: String = styled.spans.iter().map(|s| s.content.as_ref()).collect();
        LogLine {
            record,
            styled,
            plain,
        }
    }
}

/// The bounded buffer and the view settings over it.
#[derive(Clone, Debug)]
pub struct LogView {
    lines: VecDeque<LogLine>,
    capacity: usize,
    /// Lines that fell out of the buffer.
    pub dropped: u64,
    /// Filter: a case-insensitive regex (literal text if it is not one); empty = all.
    pub filter: String,
    /// Show records with priority ≤ this (7 = all).
    pub max_priority: u8,
    /// Stick to the newest line.
    pub follow: bool,
    pub wrap: bool,
    pub timestamps: bool,
    /// Lines from the bottom when not following.
    pub scroll: usize,
    /// Lines that arrived while paused.
    pub unseen: usize,
    /// The filter is being typed: keys are text until Enter or Esc.
    pub editing: bool,
}

impl Default for LogView {
    fn default() -> Self {
        LogView::with_capacity(DEFAULT_CAPACITY)
    }
}

impl LogView {
    pub fn with_capacity(capacity: usize) -> LogView {
        LogView {
            lines: VecDeque::new(),
            capacity: capacity.max(1),
            dropped: 0,
            filter: String::new(),
            max_priority: 7,
            follow: true,
            wrap: false,
            timestamps: true,
            scroll: 0,
            unseen: 0,
            editing: false,
        }
    }

    pub fn push(&mut self, record: LogRecord) {
        if self.lines.len() == self.capacity {
            self.lines.pop_front();
            self.dropped += 1;
        }
        let line = LogLine::new(record);
        if !self.follow && self.matches(&line) {
            self.scroll += 1;
            self.unseen += 1;
        }
        self.lines.push_back(line);
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    pub fn matches(&self, line: &LogLine) -> bool {
        line.record.priority <= self.max_priority
            && (self.filter.is_empty() || contains_ci(&line.plain, &self.filter))
    }

    /// The newest `n` lines that pass the filter, oldest first, ending
    /// `scroll` lines above the newest.
    pub fn visible(&self, n: usize) -> Vec<&LogLine> {
        let mut out: Vec<&LogLine> = self
            .lines
            .iter()
            .rev()
            .filter(|l| self.matches(l))
            .skip(if self.follow { 0 } else { self.scroll })
            .take(n)
            .collect();
        out.reverse();
        out
    }

    /// How many lines pass the filter (walks the buffer; not per frame).
    pub fn matching(&self) -> usize {
        self.lines.iter().filter(|l| self.matches(l)).count()
    }

    pub fn scroll_up(&mut self, n: usize) {
        if self.follow {
            self.follow = false;
            self.scroll = 0;
        }
        self.scroll = (self.scroll + n).min(self.matching().saturating_sub(1));
    }

    pub fn scroll_down(&mut self, n: usize) {
        self.scroll = self.scroll.saturating_sub(n);
        if self.scroll == 0 {
            self.jump_newest();
        }
    }

    pub fn jump_newest(&mut self) {
        self.follow = true;
        self.scroll = 0;
        self.unseen = 0;
    }

    pub fn toggle_follow(&mut self) {
        if self.follow {
            self.follow = false;
            self.scroll = 0;
        } else {
            self.jump_newest();
        }
    }

    /// A key while the filter is typed: Enter keeps the filter, Esc clears it.
    pub fn filter_key(&mut self, k: &KeyEvent) {
        match k.code {
            KeyCode::Enter => self.editing = false,
            KeyCode::Esc => {
                self.editing = false;
                self.filter.clear();
            }
            KeyCode::Backspace => {
                self.filter.pop();
            }
            KeyCode::Char(c) if !k.modifiers.contains(KeyModifiers::CONTROL) => self.filter.push(c),
            _ => {}
        }
    }

    /// The Logs tab's own actions (follow, wrap, timestamps, priority); false for
    /// any other action.
    pub fn act(&mut self, action: Action) -> bool {
        match action {
            Action::Follow => self.toggle_follow(),
            Action::Wrap => self.wrap = !self.wrap,
            Action::Timestamps => self.timestamps = !self.timestamps,
            Action::Priority => self.cycle_priority(),
            _ => return false,
        }
        true
    }

    /// Up, Down and the page keys: `delta` lines towards newer (positive) or older.
    pub fn scroll_by(&mut self, delta: isize) {
        if delta < 0 {
            self.scroll_up(delta.unsigned_abs());
        } else {
            self.scroll_down(delta.unsigned_abs());
        }
    }

    /// Next lowest priority shown: all → info → notice → warning → err → all.
    pub fn cycle_priority(&mut self) {
        self.max_priority = match self.max_priority {
            7 => 6,
            6 => 5,
            5 => 4,
            4 => 3,
            _ => 7,
        };
    }
}

/// The filter as a case-insensitive regex; text that is not a valid regex
/// (say, a lone `(` while typing) is matched literally. Compiled once per
/// filter text (cached), not per line.
fn filter_regex(filter: &str) -> Option<regex::Regex> {
    use std::cell::RefCell;
    thread_local! {
        static CACHE: RefCell<Option<(String, regex::Regex)>> = const { RefCell::new(None) };
    }
    if filter.is_empty() {
        return None;
    }
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some((text, re)) = cache.as_ref()
            && text == filter
        {
            return Some(re.clone());
        }
        let build = |p: &str| {
            regex::RegexBuilder::new(p)
                .case_insensitive(true)
                .size_limit(1 << 20)
                .build()
        };
        let re = build(filter)
            .or_else(|_| build(&regex::escape(filter)))
            .ok()?;
        *cache = Some((filter.to_string(), re.clone()));
        Some(re)
    })
}

fn contains_ci(haystack: &str, filter: &str) -> bool {
    filter_regex(filter).is_some_and(|re| re.is_match(haystack))
}

/// Byte ranges of the filter's (case-insensitive regex) matches in `text`.
pub fn match_ranges(text: &str, filter: &str) -> Vec<(usize, usize)> {
    filter_regex(filter)
        .map(|re| {
            re.find_iter(text)
                .map(|m| (m.start(), m.end()))
                .filter(|(s, e)| s < e)
                .collect()
        })
        .unwrap_or_default()
}

/// The styled message with the filter's matches highlighted (matches that
/// cross a color change are highlighted per piece).
pub fn highlight(
    line: &Line<'static>,
    needle: &str,
    style: ratatui::style::Style,
) -> Line<'static> {
    if needle.is_empty() {
        return line.clone();
    }
    let mut out = Vec::new();
    for span in &line.spans {
        let text = span.content.as_ref();
        let ranges = match_ranges(text, needle);
        if ranges.is_empty() {
            out.push(span.clone());
            continue;
        }
        let mut at = 0;
        for (s, e) in ranges {
            if s > at {
                out.push(Span::styled(text[at..s].to_string(), span.style));
            }
            out.push(Span::styled(
                text[s..e].to_string(),
                span.style.patch(style),
            ));
            at = e;
        }
        if at < text.len() {
            out.push(Span::styled(text[at..].to_string(), span.style));
        }
    }
    Line::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(n: u64, host: &str, prio: u8, msg: &str) -> LogRecord {
        LogRecord {
            time_us: n * 1_000_000,
            host: host.into(),
            unit: "hello-web.service".into(),
            priority: prio,
            message: msg.into(),
            cursor: String::new(),
        }
    }

    #[test]
    fn filter_is_a_regex_and_falls_back_to_literal_text() {
        let mut v = LogView::with_capacity(10);
        v.push(rec(1, "h1", 6, "GET /health 200"));
        v.push(rec(2, "h2", 6, "GET /items/7 404"));
        v.push(rec(3, "h3", 6, "POST /login (retry)"));
        v.filter = r"get /(health|items/\d+) [24]0\d".into();
        assert_eq!(v.matching(), 2);
        assert_eq!(match_ranges("x GET /items/7 404", &v.filter), vec![(2, 18)]);
        v.filter = "(retry".into();
        assert_eq!(v.matching(), 1, "an unfinished regex matches literally");
    }

    #[test]
    fn ring_buffer_drops_oldest_and_counts() {
        let mut v = LogView::with_capacity(3);
        for i in 0..5 {
            v.push(rec(i, "h1", 6, &format!("line {i}")));
        }
        assert_eq!(v.len(), 3);
        assert_eq!(v.dropped, 2);
        let vis: Vec<_> = v.visible(10).iter().map(|l| l.plain.clone()).collect();
        assert_eq!(vis, ["line 2", "line 3", "line 4"]);
    }

    #[test]
    fn ansi_is_parsed_once_and_stripped_for_filtering() {
        let l = LogLine::new(rec(0, "h1", 6, "\x1b[31merror\x1b[0m here"));
        assert_eq!(l.plain, "error here");
        assert!(l.styled.spans.len() >= 2);
    }

    #[test]
    fn filter_and_priority_select_lines() {
        let mut v = LogView::default();
        v.push(rec(0, "h1", 6, "GET /health 200"));
        v.push(rec(1, "h2", 3, "panic: boom"));
        v.push(rec(2, "h3", 6, "GET /health 500"));
        v.filter = "health".into();
        assert_eq!(v.visible(10).len(), 2);
        v.filter.clear();
        v.max_priority = 3;
        let vis: Vec<_> = v
            .visible(10)
            .iter()
            .map(|l| l.record.host.clone())
            .collect();
        assert_eq!(vis, ["h2"]);
    }

    #[test]
    fn paused_view_stays_put_while_lines_arrive() {
        let mut v = LogView::default();
        for i in 0..10 {
            v.push(rec(i, "h1", 6, &format!("l{i}")));
        }
        v.toggle_follow();
        v.scroll_up(2);
        let before: Vec<_> = v.visible(3).iter().map(|l| l.plain.clone()).collect();
        v.push(rec(11, "h1", 6, "new"));
        let after: Vec<_> = v.visible(3).iter().map(|l| l.plain.clone()).collect();
        assert_eq!(before, after);
        assert_eq!(v.unseen, 1);
        v.jump_newest();
        assert_eq!(v.visible(1)[0].plain, "new");
    }

    #[test]
    fn highlight_splits_spans_at_matches() {
        let line = Line::from("a GET b get");
        let h = highlight(&line, "get", ratatui::style::Style::default());
        let texts: Vec<_> = h.spans.iter().map(|s| s.content.to_string()).collect();
        assert_eq!(texts, ["a ", "GET", " b ", "get"]);
    }
}
