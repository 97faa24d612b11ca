//! The naive reference engine (being written).
