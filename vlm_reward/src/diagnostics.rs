//! Reward diagnostics: correlation, EPIC distance, AUC, retrieval accuracy, calibration (work in progress).
