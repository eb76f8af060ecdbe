//! The simlit image tower: a small CNN mapping frames into the sentence encoder's space (work in progress).
