//! Adapters for published order-book crates, fed the same operations as our engine.
