//! Caption datasets of rendered frames, on disk (work in progress).
