//! The `clip` backend: CLIP image and text towers on candle (work in progress).
