//! Where the checks read from: a filesystem root (`/` on a live host, a fixture tree in
//! tests), plus the probes that only make sense for the running process.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// A host's files, seen from `root`. Every path the checks read is absolute (`/proc/...`,
/// `/sys/...`) and is resolved under `root`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Host {
    pub root: PathBuf,
}

impl Host {
    pub fn new(root: impl Into<PathBuf>) -> Host {
        Host { root: root.into() }
    }

    /// The machine this process runs on.
    pub fn live() -> Host {
        Host::new("/")
    }

    /// True when `root` is `/`: the files are this machine's, so probing the running
    /// process (rlimits, creating an io_uring) describes the same host.
    pub fn is_live(&self) -> bool {
        self.root == Path::new("/")
    }

    /// `abs` (an absolute path such as `/proc/cmdline`) under `root`.
    pub fn path(&self, abs: &str) -> PathBuf {
        self.root.join(abs.trim_start_matches('/'))
    }

    pub fn read(&self, abs: &str) -> io::Result<String> {
        fs::read_to_string(self.path(abs))
    }

    /// The file's content without surrounding whitespace; `None` if it cannot be read.
    pub fn read_trimmed(&self, abs: &str) -> Option<String> {
        self.read(abs).ok().map(|s| s.trim().to_string())
    }

    pub fn exists(&self, abs: &str) -> bool {
        self.path(abs).exists()
    }

    /// The names in a directory, sorted; empty if it cannot be read.
    pub fn dir_names(&self, abs: &str) -> Vec<String> {
        let Ok(entries) = fs::read_dir(self.path(abs)) else {
            return Vec::new();
        };
        let mut names: Vec<String> =
            entries.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }
}

/// One resource limit value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    Unlimited,
    Value(u64),
}

impl Limit {
    /// True if the limit is unlimited or at least `min`.
    pub fn at_least(self, min: u64) -> bool {
        match self {
            Limit::Unlimited => true,
            Limit::Value(v) => v >= min,
        }
    }
}

/// A process resource limit: the soft limit is the one in force, the hard one its ceiling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rlimit {
    pub soft: Limit,
    pub hard: Limit,
}

/// What only the running process can tell: its limits and whether it may create an
/// io_uring. `None` means not probed (the checks then report `unknown`, or rely on files).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Probes {
    pub memlock: Option<Rlimit>,
    pub nofile: Option<Rlimit>,
    /// The result of creating an 8-entry io_uring; the error text on failure.
    pub io_uring_ring: Option<Result<(), String>>,
}

impl Probes {
    /// Nothing probed: for a `Host` whose root is not `/`.
    pub fn none() -> Probes {
        Probes::default()
    }

    /// Probes this process: `getrlimit` for memlock and nofile, and creates (then drops)
    /// an io_uring of 8 entries.
    pub fn live() -> Probes {
        Probes {
            memlock: getrlimit(libc::RLIMIT_MEMLOCK as libc::c_int),
            nofile: getrlimit(libc::RLIMIT_NOFILE as libc::c_int),
            io_uring_ring: Some(io_uring::IoUring::new(8).map(drop).map_err(|e| e.to_string())),
        }
    }
}

/// `resource` is an `RLIMIT_*` constant (its C type differs between glibc and musl).
fn getrlimit(resource: libc::c_int) -> Option<Rlimit> {
    let mut rl = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `rl` is a valid, writable `rlimit` for the whole call, and getrlimit writes
    // nothing else.
    let rc = unsafe { libc::getrlimit(resource as _, &mut rl) };
    if rc != 0 {
        return None;
    }
    let limit = |v: libc::rlim_t| if v == libc::RLIM_INFINITY { Limit::Unlimited } else { Limit::Value(v) };
    Some(Rlimit { soft: limit(rl.rlim_cur), hard: limit(rl.rlim_max) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_absolute_paths_under_the_root() {
        let host = Host::new("/tmp/fixture");
        assert_eq!(host.path("/proc/cmdline"), PathBuf::from("/tmp/fixture/proc/cmdline"));
        assert!(!host.is_live());
        assert!(Host::live().is_live());
        assert_eq!(Host::live().path("/proc/swaps"), PathBuf::from("/proc/swaps"));
    }

    #[test]
    fn live_probes_read_this_process() {
        let probes = Probes::live();
        let nofile = probes.nofile.expect("getrlimit(RLIMIT_NOFILE)");
        // A process always may open a few files, so the soft limit is not zero.
        assert!(nofile.soft.at_least(3));
        assert!(probes.memlock.is_some());
        assert!(probes.io_uring_ring.is_some());
    }

    #[test]
    fn limit_comparison() {
        assert!(Limit::Unlimited.at_least(u64::MAX));
        assert!(Limit::Value(65536).at_least(65536));
        assert!(!Limit::Value(1024).at_least(65536));
    }
}
