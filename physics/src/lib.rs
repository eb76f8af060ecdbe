//! vlmgym-physics: rapier3d worlds and builders (vehicle, arm, walker, props) for vlmgym's
//! embodied environments, stepped at a fixed rate and seeded.
//!
//! This crate is laid out by the workspace issue and filled by the Driving issue; it has
//! no public items yet.
