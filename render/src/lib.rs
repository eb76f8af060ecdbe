//! vlmgym-render: the bevy headless batch renderer that turns environment Scenes into RGB
//! frames, and the interactive viewer window.
//!
//! This crate is laid out by the workspace issue and filled by the renderer issue; it has
//! no public items yet.
