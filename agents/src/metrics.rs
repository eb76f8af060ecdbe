//! Training metrics: `metrics.csv` (one row per update) and `curves.png` (plotters).

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use anyhow::{Context, Result};
use plotters::prelude::*;

use crate::ppo::IterationStats;

/// The CSV columns, in order.
pub const COLUMNS: [&str; 13] = [
    "global_step",
    "iteration",
    "episodes",
    "episodic_return",
    "episode_length",
    "policy_loss",
    "value_loss",
    "entropy",
    "approx_kl",
    "clipfrac",
    "explained_variance",
    "learning_rate",
    "sps",
];

/// Appends rows to `metrics.csv`, flushing each one.
pub struct MetricsWriter {
    csv: CsvWriter,
    extra: Vec<String>,
}

/// A CSV file whose first column is the global step, appended one flushed row at a time
/// (PPO's and SAC's `metrics.csv`, SAC's `episodes.csv`).
pub struct CsvWriter {
    file: File,
}

impl CsvWriter {
    /// Creates the file with `header`, or (when `keep_until` is given) keeps the rows of an
    /// existing file up to that global step and appends after them, so a resumed run's file
    /// has no rows from the interrupted future.
    pub fn open(path: &Path, keep_until: Option<u64>, header: &[String]) -> Result<Self> {
        let mut lines = vec![header.join(",")];
        if let (Some(limit), Ok(f)) = (keep_until, File::open(path)) {
            for line in BufReader::new(f).lines().skip(1) {
                let line = line?;
                let step: u64 = line.split(',').next().and_then(|s| s.parse().ok()).unwrap_or(u64::MAX);
                if step <= limit {
                    lines.push(line);
                }
            }
        }
        let mut text = lines.join("\n");
        text.push('\n');
        crate::checkpoint::write_atomically(path, text.as_bytes())?;
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .with_context(|| format!("cannot append to {}", path.display()))?;
        Ok(CsvWriter { file })
    }

    /// Appends one row and flushes it.
    pub fn write_row(&mut self, cells: &[String]) -> Result<()> {
        writeln!(self.file, "{}", cells.join(","))?;
        self.file.flush()?;
        Ok(())
    }
}

impl MetricsWriter {
    /// Creates the file with its header, or (when `keep_until` is given) keeps the rows of
    /// an existing file up to that global step and appends after them, so a resumed run's
    /// file has no rows from the interrupted future.
    pub fn open(path: &Path, keep_until: Option<u64>) -> Result<Self> {
        Self::open_with_extra(path, keep_until, &[])
    }

    /// As [`MetricsWriter::open`], with `extra` columns after [`COLUMNS`] (e.g. one per
    /// reward term); each row fills them from [`IterationStats::extra`] by name.
    pub fn open_with_extra(path: &Path, keep_until: Option<u64>, extra: &[String]) -> Result<Self> {
        let header: Vec<String> = COLUMNS.iter().map(|c| c.to_string()).chain(extra.iter().cloned()).collect();
        Ok(MetricsWriter { csv: CsvWriter::open(path, keep_until, &header)?, extra: extra.to_vec() })
    }

    /// Writes one update's row.
    pub fn write(&mut self, s: &IterationStats) -> Result<()> {
        let n = s.episodes.len();
        let mean = |f: &dyn Fn(&crate::ppo::EpisodeRecord) -> f64| -> String {
            if n == 0 {
                String::new()
            } else {
                format!("{}", s.episodes.iter().map(f).sum::<f64>() / n as f64)
            }
        };
        let row = [
            s.global_step.to_string(),
            s.iteration.to_string(),
            n.to_string(),
            mean(&|e| e.ret),
            mean(&|e| e.len as f64),
            s.policy_loss.to_string(),
            s.value_loss.to_string(),
            s.entropy.to_string(),
            s.approx_kl.to_string(),
            s.clipfrac.to_string(),
            s.explained_variance.to_string(),
            s.learning_rate.to_string(),
            format!("{:.1}", s.sps),
        ];
        let extra = self
            .extra
            .iter()
            .map(|name| s.extra.iter().find(|(k, _)| k == name).map(|(_, v)| v.to_string()).unwrap_or_default());
        let row: Vec<String> = row.into_iter().chain(extra).collect();
        self.csv.write_row(&row)
    }
}

/// Reads a `metrics.csv` column as `(global_step, value)` pairs, skipping empty cells.
pub fn read_column(path: &Path, column: &str) -> Result<Vec<(f64, f64)>> {
    let f = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut lines = BufReader::new(f).lines();
    let header = lines.next().context("empty metrics file")??;
    let idx = header
        .split(',')
        .position(|c| c == column)
        .with_context(|| format!("no column `{column}` in {}", path.display()))?;
    let mut out = Vec::new();
    for line in lines {
        let line = line?;
        let cells: Vec<&str> = line.split(',').collect();
        if let (Some(x), Some(y)) =
            (cells.first().and_then(|c| c.parse().ok()), cells.get(idx).and_then(|c| c.parse::<f64>().ok()))
        {
            if y.is_finite() {
                out.push((x, y));
            }
        }
    }
    Ok(out)
}

/// Registers the bundled DejaVu Sans Mono as plotters' "sans-serif" font (once).
pub fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let font: &'static [u8] = include_bytes!("../../assets/fonts/DejaVuSansMono.ttf");
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, font);
    });
}

/// Draws `curves.png`: episodic return, the losses, approx KL and explained variance
/// against global step, from `metrics.csv`.
pub fn plot_curves(metrics: &Path, out: &Path, title: &str) -> Result<()> {
    let panels = [
        ("episodic_return", "episodic return"),
        ("policy_loss", "policy loss"),
        ("value_loss", "value loss"),
        ("entropy", "entropy"),
        ("approx_kl", "approx KL"),
        ("explained_variance", "explained variance"),
    ];
    plot_panels(metrics, out, title, &panels)
}

/// Draws six `(column, label)` panels of `metrics.csv` against global step, 2 x 3, into a
/// PNG (PPO's and SAC's `curves.png`).
pub fn plot_panels(metrics: &Path, out: &Path, title: &str, panels: &[(&str, &str)]) -> Result<()> {
    register_font();
    let root = BitMapBackend::new(out, (1200, 800)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 22))?;
    for (area, &(column, label)) in root.split_evenly((2, 3)).iter().zip(panels) {
        let data = read_column(metrics, column)?;
        let (x0, x1) = data.iter().fold((f64::MAX, f64::MIN), |(a, b), (x, _)| (a.min(*x), b.max(*x)));
        let (y0, y1) = data.iter().fold((f64::MAX, f64::MIN), |(a, b), (_, y)| (a.min(*y), b.max(*y)));
        let (x0, x1) = if data.is_empty() { (0.0, 1.0) } else { (x0, x1.max(x0 + 1.0)) };
        let pad = ((y1 - y0).abs() * 0.05).max(1e-6);
        let (y0, y1) = if data.is_empty() { (0.0, 1.0) } else { (y0 - pad, y1 + pad) };
        let mut chart = ChartBuilder::on(area)
            .caption(label, ("sans-serif", 16))
            .margin(8)
            .x_label_area_size(28)
            .y_label_area_size(60)
            .build_cartesian_2d(x0..x1, y0..y1)?;
        chart.configure_mesh().x_desc("global step").x_labels(4).y_labels(5).label_style(("sans-serif", 11)).draw()?;
        chart.draw_series(LineSeries::new(data, &BLUE))?;
    }
    root.present().with_context(|| format!("cannot write {}", out.display()))?;
    Ok(())
}
