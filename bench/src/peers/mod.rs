//! Adapters for published order-book crates, fed the same operations as our engine.

use crate::op::BenchEngine;

pub fn all() -> Vec<Box<dyn BenchEngine>> {
    Vec::new()
}
