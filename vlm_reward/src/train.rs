//! Contrastive (InfoNCE, locked text) training of the image tower (work in progress).
