//! The pipelines Hydrant ships, ready to name: `?pipeline=apache`, or a stream's `pipeline`.

/// Built-in pipelines: id and definition (JSON).
pub const BUILTIN: &[(&str, &str)] = &[];
