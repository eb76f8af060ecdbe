//! vlmgym-reward: vision-language reward models (CLIP and simlit backends, goal specs, the
//! CLG and VLM-RM scores, calibration and reward-model training).
//!
//! This crate is laid out by the workspace issue and filled by the reward-model issue; it
//! has no public items yet.
