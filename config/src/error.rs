//! What is wrong with a configuration, where: one [`ConfigError`] per problem, all of them in
//! [`ConfigErrors`].

use std::fmt;
use std::path::PathBuf;

/// One problem, located in the file when it came from one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// 1-based line in the file; `None` for problems with no place in it (a missing file, a
    /// value set from the command line).
    pub line: Option<usize>,
    /// 1-based column, in characters; `None` when `line` is.
    pub column: Option<usize>,
    /// The dotted key, e.g. `symbols[1].tick_size` or `network.rest_port`; empty for problems
    /// with the whole file (reading it, TOML syntax).
    pub key: String,
    pub message: String,
}

impl ConfigError {
    pub(crate) fn new(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError { line: None, column: None, key: key.into(), message: message.into() }
    }
}

impl fmt::Display for ConfigError {
    /// `12:1: symbols[1].tick_size: message`; the parts that are unknown are left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(line) = self.line {
            write!(f, "{line}:{}: ", self.column.unwrap_or(1))?;
        }
        if !self.key.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        f.write_str(&self.message)
    }
}

/// Every problem found, in file order (unlocated ones last). Never empty when returned as an
/// error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors {
    /// The file the errors are in, when known: `Display` prefixes each line with it.
    pub path: Option<PathBuf>,
    pub errors: Vec<ConfigError>,
}

impl ConfigErrors {
    pub(crate) fn new(mut errors: Vec<ConfigError>) -> ConfigErrors {
        errors.sort_by_key(|error| (error.line.is_none(), error.line, error.column));
        ConfigErrors { path: None, errors }
    }

    pub(crate) fn single(error: ConfigError) -> ConfigErrors {
        ConfigErrors::new(vec![error])
    }

    /// The same errors, shown as being in `path`.
    pub fn in_file(mut self, path: impl Into<PathBuf>) -> ConfigErrors {
        self.path = Some(path.into());
        self
    }

    pub fn len(&self) -> usize {
        self.errors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, ConfigError> {
        self.errors.iter()
    }

    /// The error reported for `key`, if any: a convenience for tests and callers.
    pub fn for_key(&self, key: &str) -> Option<&ConfigError> {
        self.errors.iter().find(|error| error.key == key)
    }
}

impl fmt::Display for ConfigErrors {
    /// One error per line: `cex.toml:12:1: symbols[1].tick_size: message`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for error in &self.errors {
            if let Some(path) = &self.path {
                write!(f, "{}:", path.display())?;
                if error.line.is_none() {
                    f.write_str(" ")?;
                }
            }
            writeln!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl<'a> IntoIterator for &'a ConfigErrors {
    type Item = &'a ConfigError;
    type IntoIter = std::slice::Iter<'a, ConfigError>;

    fn into_iter(self) -> Self::IntoIter {
        self.errors.iter()
    }
}

impl IntoIterator for ConfigErrors {
    type Item = ConfigError;
    type IntoIter = std::vec::IntoIter<ConfigError>;

    fn into_iter(self) -> Self::IntoIter {
        self.errors.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_one_error_per_line() {
        let located = ConfigError {
            line: Some(12),
            column: Some(1),
            key: "symbols[1].tick_size".into(),
            message: "0.001 is not a whole number of USDT minor units (scale 6)".into(),
        };
        let unlocated = ConfigError::new("network.rest_port", "0 is not a port");
        let errors = ConfigErrors::new(vec![unlocated.clone(), located.clone()]);
        assert_eq!(errors.errors, vec![located.clone(), unlocated.clone()]);
        assert_eq!(
            errors.to_string(),
            "12:1: symbols[1].tick_size: 0.001 is not a whole number of USDT minor units (scale 6)\n\
             network.rest_port: 0 is not a port\n"
        );
        assert_eq!(
            errors.in_file("cex.toml").to_string(),
            "cex.toml:12:1: symbols[1].tick_size: 0.001 is not a whole number of USDT minor units (scale 6)\n\
             cex.toml: network.rest_port: 0 is not a port\n"
        );
    }
}
