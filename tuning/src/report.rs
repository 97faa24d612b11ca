//! Check results and how they are shown: an aligned table for people, JSON for tools.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Ready for a low-latency deployment.
    Ok,
    /// Runs, but slower, with more jitter or with less headroom than it should.
    Warn,
    /// Will not run as configured (an absent engine core, no io_uring).
    Fail,
    /// Could not be determined here (a file the kernel does not provide, a VM, no probe).
    Unknown,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Unknown => "unknown",
        }
    }

    /// Warn or fail: what `--strict` turns into a non-zero exit.
    pub fn is_problem(self) -> bool {
        matches!(self, Status::Warn | Status::Fail)
    }
}

/// One checked item: what was found and, unless it is ready, how to fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub name: &'static str,
    pub status: Status,
    pub found: String,
    pub fix: Option<String>,
}

impl Item {
    pub fn ok(name: &'static str, found: impl Into<String>) -> Item {
        Item { name, status: Status::Ok, found: found.into(), fix: None }
    }

    pub fn warn(name: &'static str, found: impl Into<String>, fix: impl Into<String>) -> Item {
        Item { name, status: Status::Warn, found: found.into(), fix: Some(fix.into()) }
    }

    pub fn fail(name: &'static str, found: impl Into<String>, fix: impl Into<String>) -> Item {
        Item { name, status: Status::Fail, found: found.into(), fix: Some(fix.into()) }
    }

    /// Unknown items carry no fix; `found` says why nothing could be determined.
    pub fn unknown(name: &'static str, found: impl Into<String>) -> Item {
        Item { name, status: Status::Unknown, found: found.into(), fix: None }
    }
}

/// True if any item is warn or fail.
pub fn has_problems(items: &[Item]) -> bool {
    items.iter().any(|i| i.status.is_problem())
}

/// One line per item in aligned columns (item, status, found), the fix on an indented line
/// below, then a count per status.
pub fn render_table(items: &[Item]) -> String {
    let name_width = items.iter().map(|i| i.name.len()).chain(["item".len()]).max().unwrap_or(0);
    let status_width = "unknown".len();
    let mut out = format!("{:<name_width$}  {:<status_width$}  found\n", "item", "status");
    for item in items {
        out += &format!("{:<name_width$}  {:<status_width$}  {}\n", item.name, item.status.as_str(), item.found);
        if let Some(fix) = &item.fix {
            out += &format!("{:indent$}fix: {fix}\n", "", indent = name_width + 2);
        }
    }
    let count = |s: Status| items.iter().filter(|i| i.status == s).count();
    out += &format!(
        "\n{} ok, {} warn, {} fail, {} unknown\n",
        count(Status::Ok),
        count(Status::Warn),
        count(Status::Fail),
        count(Status::Unknown)
    );
    out
}

/// A JSON array with one object per item and line, keys in this order: `name`, `status`,
/// `found`, and `fix` (null when none).
pub fn render_json(items: &[Item]) -> String {
    let string = |s: &str| serde_json::to_string(s).expect("a string always serializes");
    let lines: Vec<String> = items
        .iter()
        .map(|i| {
            let fix = i.fix.as_deref().map_or_else(|| "null".to_string(), string);
            format!(
                "  {{\"name\": {}, \"status\": {}, \"found\": {}, \"fix\": {fix}}}",
                string(i.name),
                string(i.status.as_str()),
                string(&i.found)
            )
        })
        .collect();
    if lines.is_empty() {
        return "[]".to_string();
    }
    format!("[\n{}\n]", lines.join(",\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Item> {
        vec![
            Item::ok("thp", "madvise"),
            Item::warn("net.core.rmem_max", "212992 (want >= 16777216)", "run tuning/sysctl.sh"),
            Item::unknown("memlock", "not probed"),
        ]
    }

    #[test]
    fn table_aligns_columns_and_indents_fixes() {
        let table = render_table(&sample());
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "item               status   found");
        assert_eq!(lines[1], "thp                ok       madvise");
        assert_eq!(lines[2], "net.core.rmem_max  warn     212992 (want >= 16777216)");
        assert_eq!(lines[3], "                   fix: run tuning/sysctl.sh");
        assert_eq!(lines[4], "memlock            unknown  not probed");
        assert_eq!(lines[6], "1 ok, 1 warn, 0 fail, 1 unknown");
    }

    #[test]
    fn json_is_an_array_of_objects() {
        let value: serde_json::Value = serde_json::from_str(&render_json(&sample())).unwrap();
        let array = value.as_array().unwrap();
        assert_eq!(array.len(), 3);
        assert_eq!(array[0]["name"], "thp");
        assert_eq!(array[0]["status"], "ok");
        assert!(array[0]["fix"].is_null());
        assert_eq!(array[1]["status"], "warn");
        assert_eq!(array[1]["fix"], "run tuning/sysctl.sh");
        assert_eq!(array[2]["found"], "not probed");
        let text = render_json(&sample());
        assert!(
            text.starts_with("[\n  {\"name\": \"thp\", \"status\": \"ok\", \"found\": \"madvise\", \"fix\": null},\n")
        );
        assert_eq!(render_json(&[]), "[]");
        let quoted = render_json(&[Item::warn("x", "a \"b\"\n", "c\\d")]);
        let value: serde_json::Value = serde_json::from_str(&quoted).unwrap();
        assert_eq!(value[0]["found"], "a \"b\"\n");
        assert_eq!(value[0]["fix"], "c\\d");
    }

    #[test]
    fn only_warn_and_fail_are_problems() {
        assert!(!has_problems(&[Item::ok("a", ""), Item::unknown("b", "")]));
        assert!(has_problems(&[Item::ok("a", ""), Item::warn("b", "", "")]));
        assert!(has_problems(&[Item::fail("a", "", "")]));
    }
}
