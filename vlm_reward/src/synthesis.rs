//! Declarative hierarchical reward synthesis from TOML (work in progress).
