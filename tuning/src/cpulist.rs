//! The kernel's CPU-list syntax: `0-3,8,10-11`, as in sysfs `cpulist` files, `/proc/cmdline`
//! (`isolcpus=`, `nohz_full=`, `rcu_nocbs=`) and `--engine-cores`.
//!
//! Supported: single CPUs, ranges `a-b`, and the grouped form `a-b:used/group` (of each
//! `group` CPUs starting at `a`, the first `used`), as `bitmap_parselist` accepts them.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// The highest CPU id accepted: the kernel's `NR_CPUS` ceiling. It bounds what a range can
/// expand to.
pub const CPU_ID_MAX: usize = 8191;

/// A set of CPU ids, kept sorted. Displays in canonical list syntax (`0-3,8,10-11`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CpuSet(BTreeSet<usize>);

impl CpuSet {
    pub fn new() -> CpuSet {
        CpuSet(BTreeSet::new())
    }

    pub fn insert(&mut self, cpu: usize) {
        self.0.insert(cpu);
    }

    pub fn contains(&self, cpu: usize) -> bool {
        self.0.contains(&cpu)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().copied()
    }

    pub fn last(&self) -> Option<usize> {
        self.0.last().copied()
    }

    /// The CPUs in `self` and not in `other`.
    pub fn difference(&self, other: &CpuSet) -> CpuSet {
        CpuSet(self.0.difference(&other.0).copied().collect())
    }

    pub fn union(&self, other: &CpuSet) -> CpuSet {
        CpuSet(self.0.union(&other.0).copied().collect())
    }

    pub fn intersection(&self, other: &CpuSet) -> CpuSet {
        CpuSet(self.0.intersection(&other.0).copied().collect())
    }

    pub fn is_subset(&self, other: &CpuSet) -> bool {
        self.0.is_subset(&other.0)
    }
}

impl FromIterator<usize> for CpuSet {
    fn from_iter<I: IntoIterator<Item = usize>>(iter: I) -> CpuSet {
        CpuSet(iter.into_iter().collect())
    }
}

impl fmt::Display for CpuSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut cpus = self.iter().peekable();
        let mut first = true;
        while let Some(start) = cpus.next() {
            let mut end = start;
            while cpus.peek() == Some(&(end + 1)) {
                end += 1;
                cpus.next();
            }
            if !first {
                f.write_str(",")?;
            }
            first = false;
            if end == start {
                write!(f, "{start}")?;
            } else {
                write!(f, "{start}-{end}")?;
            }
        }
        Ok(())
    }
}

/// `--engine-cores` and other user input: like [`parse_cpu_list`], but an empty list is an
/// error.
impl FromStr for CpuSet {
    type Err = CpuListError;

    fn from_str(s: &str) -> Result<CpuSet, CpuListError> {
        let set = parse_cpu_list(s)?;
        if set.is_empty() {
            return Err(CpuListError::Empty);
        }
        Ok(set)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CpuListError {
    /// The whole list is empty where a CPU is required.
    Empty,
    /// A comma-separated element is empty or malformed.
    BadElement(String),
    /// A range whose end is below its start.
    Reversed(String),
    /// A CPU id above [`CPU_ID_MAX`].
    TooLarge(String),
}

impl fmt::Display for CpuListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CpuListError::Empty => write!(f, "empty CPU list"),
            CpuListError::BadElement(e) => {
                write!(f, "bad CPU list element {e:?} (want N, A-B or A-B:USED/GROUP, comma-separated)")
            }
            CpuListError::Reversed(e) => write!(f, "CPU range {e:?} ends before it starts"),
            CpuListError::TooLarge(e) => write!(f, "CPU id in {e:?} is above {CPU_ID_MAX}"),
        }
    }
}

impl std::error::Error for CpuListError {}

/// Parses a CPU list such as `0-3,8,10-11`. Surrounding whitespace (a sysfs file's newline)
/// is ignored, and an empty string is the empty set (an empty sysfs `isolated` file).
pub fn parse_cpu_list(s: &str) -> Result<CpuSet, CpuListError> {
    let s = s.trim();
    let mut set = CpuSet::new();
    if s.is_empty() {
        return Ok(set);
    }
    for element in s.split(',') {
        parse_element(element.trim(), &mut set)?;
    }
    Ok(set)
}

fn parse_element(element: &str, set: &mut CpuSet) -> Result<(), CpuListError> {
    let bad = || CpuListError::BadElement(element.to_string());
    let (range, group) = match element.split_once(':') {
        Some((range, group)) => (range, Some(group)),
        None => (element, None),
    };
    let (start, end) = match range.split_once('-') {
        Some((a, b)) => (parse_id(a, element)?, parse_id(b, element)?),
        None => {
            let cpu = parse_id(range, element)?;
            (cpu, cpu)
        }
    };
    if end < start {
        return Err(CpuListError::Reversed(element.to_string()));
    }
    let (used, size) = match group {
        None => (1, 1),
        Some(group) => {
            let (used, size) = group.split_once('/').ok_or_else(bad)?;
            let used: usize = used.parse().map_err(|_| bad())?;
            let size: usize = size.parse().map_err(|_| bad())?;
            if used == 0 || size == 0 || used > size {
                return Err(bad());
            }
            (used, size)
        }
    };
    for cpu in start..=end {
        if (cpu - start) % size < used {
            set.insert(cpu);
        }
    }
    Ok(())
}

fn parse_id(text: &str, element: &str) -> Result<usize, CpuListError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CpuListError::BadElement(element.to_string()));
    }
    match text.parse::<usize>() {
        Ok(cpu) if cpu <= CPU_ID_MAX => Ok(cpu),
        _ => Err(CpuListError::TooLarge(element.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpus(list: &[usize]) -> CpuSet {
        list.iter().copied().collect()
    }

    #[test]
    fn parses_singles_and_ranges() {
        assert_eq!(parse_cpu_list("0-3,8,10-11").unwrap(), cpus(&[0, 1, 2, 3, 8, 10, 11]));
        assert_eq!(parse_cpu_list("1").unwrap(), cpus(&[1]));
        assert_eq!(parse_cpu_list("2-3").unwrap(), cpus(&[2, 3]));
        assert_eq!(parse_cpu_list("5,1,3-3").unwrap(), cpus(&[1, 3, 5]));
    }

    #[test]
    fn ignores_sysfs_whitespace_and_reads_empty_as_empty() {
        assert_eq!(parse_cpu_list("0-1\n").unwrap(), cpus(&[0, 1]));
        assert_eq!(parse_cpu_list(" 0 , 2 ").unwrap(), cpus(&[0, 2]));
        assert!(parse_cpu_list("\n").unwrap().is_empty());
        assert_eq!("".parse::<CpuSet>(), Err(CpuListError::Empty));
    }

    #[test]
    fn parses_grouped_ranges() {
        assert_eq!(parse_cpu_list("0-7:2/4").unwrap(), cpus(&[0, 1, 4, 5]));
        assert_eq!(parse_cpu_list("1-9:1/4").unwrap(), cpus(&[1, 5, 9]));
    }

    #[test]
    fn rejects_malformed_lists() {
        assert!(matches!(parse_cpu_list("3-1"), Err(CpuListError::Reversed(_))));
        assert!(matches!(parse_cpu_list("a"), Err(CpuListError::BadElement(_))));
        assert!(matches!(parse_cpu_list("1,,2"), Err(CpuListError::BadElement(_))));
        assert!(matches!(parse_cpu_list("-1"), Err(CpuListError::BadElement(_))));
        assert!(matches!(parse_cpu_list("1-"), Err(CpuListError::BadElement(_))));
        assert!(matches!(parse_cpu_list("+1"), Err(CpuListError::BadElement(_))));
        assert!(matches!(parse_cpu_list("0-7:3/2"), Err(CpuListError::BadElement(_))));
        assert!(matches!(parse_cpu_list("0-7:0/2"), Err(CpuListError::BadElement(_))));
        assert!(matches!(parse_cpu_list("0-99999999999"), Err(CpuListError::TooLarge(_))));
        assert!(matches!(parse_cpu_list("8192"), Err(CpuListError::TooLarge(_))));
    }

    #[test]
    fn displays_canonically_and_round_trips() {
        assert_eq!(cpus(&[0, 1, 2, 3, 8, 10, 11]).to_string(), "0-3,8,10-11");
        assert_eq!(cpus(&[1]).to_string(), "1");
        assert_eq!(cpus(&[]).to_string(), "");
        for list in ["0-3,8,10-11", "1", "2-3", "0,2,4-6"] {
            assert_eq!(list.parse::<CpuSet>().unwrap().to_string(), list);
        }
    }

    #[test]
    fn set_operations() {
        let a = cpus(&[0, 1, 2, 3]);
        let b = cpus(&[2, 3, 4]);
        assert_eq!(a.difference(&b), cpus(&[0, 1]));
        assert_eq!(a.union(&b), cpus(&[0, 1, 2, 3, 4]));
        assert_eq!(a.intersection(&b), cpus(&[2, 3]));
        assert!(cpus(&[2]).is_subset(&a));
        assert!(!b.is_subset(&a));
    }
}
