//! Where each key of a parsed file is: dotted key paths (`symbols[1].tick_size`) to byte
//! spans, and byte offsets to lines and columns.

use std::ops::Range;

use toml::de::{DeTable, DeValue};

use crate::error::ConfigError;

struct Entry {
    path: String,
    key: Range<usize>,
    value: Range<usize>,
}

/// Every key in a document, with the span of the key and of its value.
pub(crate) struct KeyIndex<'a> {
    text: &'a str,
    entries: Vec<Entry>,
}

impl<'a> KeyIndex<'a> {
    pub(crate) fn new(text: &'a str, root: &DeTable<'_>) -> KeyIndex<'a> {
        let mut index = KeyIndex { text, entries: Vec::new() };
        index.walk("", root);
        index
    }

    fn walk(&mut self, prefix: &str, table: &DeTable<'_>) {
        for (key, value) in table {
            let path =
                if prefix.is_empty() { key.get_ref().to_string() } else { format!("{prefix}.{}", key.get_ref()) };
            self.entries.push(Entry { path: path.clone(), key: key.span(), value: value.span() });
            match value.get_ref() {
                DeValue::Table(inner) => self.walk(&path, inner),
                DeValue::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        let item_path = format!("{path}[{i}]");
                        self.entries.push(Entry { path: item_path.clone(), key: item.span(), value: item.span() });
                        if let DeValue::Table(inner) = item.get_ref() {
                            self.walk(&item_path, inner);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// Places `error` at its key; a key the file does not hold (a missing field, say) is placed
    /// at the nearest enclosing one that it does.
    pub(crate) fn place(&self, mut error: ConfigError) -> ConfigError {
        let mut path = error.key.as_str();
        loop {
            if let Some(entry) = self.entries.iter().find(|entry| entry.path == path) {
                (error.line, error.column) = self.position(entry.key.start);
                return error;
            }
            match path.rfind(['.', '[']) {
                Some(end) => path = &path[..end],
                None => return error,
            }
        }
    }

    /// An error toml reported at `span`: placed there, and named by the innermost key whose
    /// key or value covers it.
    pub(crate) fn at_span(&self, span: Option<Range<usize>>, message: &str) -> ConfigError {
        let mut error = ConfigError::new("", message);
        if let Some(span) = span {
            let offset = span.start;
            let covers = |range: &Range<usize>| range.start <= offset && offset < range.end.max(range.start + 1);
            let innermost = self
                .entries
                .iter()
                .filter(|entry| covers(&entry.key) || covers(&entry.value))
                .max_by_key(|entry| entry.path.len());
            if let Some(entry) = innermost {
                error.key = entry.path.clone();
            }
            (error.line, error.column) = self.position(offset);
        }
        error
    }

    /// The 1-based line and column (in characters) of byte `offset`.
    pub(crate) fn position(&self, offset: usize) -> (Option<usize>, Option<usize>) {
        position(self.text, offset)
    }
}

/// The 1-based line and column (in characters) of byte `offset` in `text`.
pub(crate) fn position(text: &str, offset: usize) -> (Option<usize>, Option<usize>) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    let column = text[line_start..offset].chars().count() + 1;
    (Some(line), Some(column))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_in_characters() {
        let text = "a = 1\nbé = \"x\"\n";
        assert_eq!(position(text, 0), (Some(1), Some(1)));
        assert_eq!(position(text, 4), (Some(1), Some(5)));
        assert_eq!(position(text, 6), (Some(2), Some(1)));
        // "bé = " is 6 bytes and 5 characters.
        assert_eq!(position(text, 12), (Some(2), Some(6)));
        assert_eq!(position(text, 1000), (Some(3), Some(1)));
    }
}
