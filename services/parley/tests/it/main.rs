//! The `parley` command's integration tests.

mod support;
mod up;
