//! `vlmgym results`: a results table (mean +- std over seeds) and one learning-curve plot,
//! rebuilt from the small files finished runs keep (`eval.json`, `metrics.csv`).
//!
//! Run folders are named `GROUP_SEED` (e.g. `loop_clg_2`): the folders of one group are the
//! seeds of one table row. A folder without the evaluation file asked for is skipped (a run
//! still training), so the table always shows finished runs only.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use plotters::prelude::*;
use vlmgym_agents::metrics::{read_column, register_font};

/// The evaluation columns a table shows when every run of it reports them: (key in
/// `eval.json`, header, factor applied to the value).
const COLUMNS: [(&str, &str, f64); 7] = [
    ("mean_return", "return", 1.0),
    ("success_rate", "success %", 100.0),
    ("metrics.route_completion", "route completion %", 100.0),
    ("metrics.collisions_per_km", "collisions / km", 1.0),
    ("metrics.mean_speed_kmh", "speed km/h", 1.0),
    ("metrics.mean_center_deviation_m", "lateral offset m", 1.0),
    ("metrics.success", "success %", 100.0),
];

/// One finished run.
#[derive(Clone, Debug)]
pub struct Run {
    /// Its folder.
    pub dir: PathBuf,
    /// The seed from its name.
    pub seed: u64,
    /// The evaluation's figures by key (`mean_return`, `success_rate`, `metrics.NAME`).
    pub figures: BTreeMap<String, f64>,
}

/// The runs of one table row.
#[derive(Clone, Debug)]
pub struct Group {
    /// The folder names' common part (`loop_clg`).
    pub name: String,
    /// Its runs, by seed.
    pub runs: Vec<Run>,
}

/// Mean and (population) standard deviation.
pub fn mean_std(xs: &[f64]) -> (f64, f64) {
    if xs.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    (m, (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n).sqrt())
}

/// The figures of an `eval.json`: its numbers at top level and one level down
/// (`metrics.route_completion`); nulls are left out.
fn read_eval(path: &Path) -> Result<BTreeMap<String, f64>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not an evaluation report", path.display()))?;
    let obj = v.as_object().with_context(|| format!("{} is not a JSON object", path.display()))?;
    let mut out = BTreeMap::new();
    for (k, v) in obj {
        match v {
            serde_json::Value::Number(n) => {
                out.insert(k.clone(), n.as_f64().unwrap_or(f64::NAN));
            }
            serde_json::Value::Object(inner) => {
                for (k2, v2) in inner {
                    if let Some(x) = v2.as_f64() {
                        out.insert(k2.clone(), x);
                    }
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// The groups of the run folders under `dir` that hold `eval_file`, sorted by name (runs
/// by seed).
pub fn collect(dir: &Path, eval_file: &str) -> Result<Vec<Group>> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("cannot read the runs folder {}", dir.display()))?;
    let mut groups: BTreeMap<String, Vec<Run>> = BTreeMap::new();
    for e in entries {
        let path = e?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let Some((group, seed)) = name.rsplit_once('_') else { continue };
        let (Ok(seed), true) = (seed.parse::<u64>(), path.join(eval_file).is_file()) else { continue };
        let figures = read_eval(&path.join(eval_file))?;
        groups.entry(group.to_string()).or_default().push(Run { dir: path, seed, figures });
    }
    if groups.is_empty() {
        bail!("no finished runs (folders NAME_SEED holding {eval_file}) in {}", dir.display());
    }
    Ok(groups
        .into_iter()
        .map(|(name, mut runs)| {
            runs.sort_by_key(|r| r.seed);
            Group { name, runs }
        })
        .collect())
}

/// The table as Markdown: one row per group, `mean +- std` over its seeds of every column
/// all runs report.
pub fn markdown(groups: &[Group]) -> String {
    let all = |key: &str| groups.iter().all(|g| g.runs.iter().all(|r| r.figures.contains_key(key)));
    let mut cols: Vec<(&str, &str, f64)> = Vec::new();
    for c in COLUMNS {
        if all(c.0) && !cols.iter().any(|k| k.1 == c.1) {
            cols.push(c);
        }
    }
    let mut s = String::from("| run | seeds |");
    for c in &cols {
        let _ = write!(s, " {} |", c.1);
    }
    s.push_str("\n|---|---|");
    s.push_str(&"---:|".repeat(cols.len()));
    s.push('\n');
    for g in groups {
        let seeds: Vec<String> = g.runs.iter().map(|r| r.seed.to_string()).collect();
        let _ = write!(s, "| {} | {} |", g.name, seeds.join(", "));
        for (key, _, f) in &cols {
            let xs: Vec<f64> = g.runs.iter().map(|r| r.figures[*key] * f).collect();
            let (m, sd) = mean_std(&xs);
            let _ = write!(s, " {m:.2} ± {sd:.2} |");
        }
        s.push('\n');
    }
    s
}

/// A point of a mean curve: global step, mean over seeds, std over seeds.
pub type CurvePoint = (f64, f64, f64);

/// `column` of one group's `metrics.csv` files on `points` evenly spaced global steps up to
/// the shortest run's last: mean and std over seeds of each run's value there (linear
/// between its rows).
pub fn curve(group: &Group, column: &str, points: usize) -> Result<Vec<CurvePoint>> {
    let mut series = Vec::new();
    for r in &group.runs {
        let data = read_column(&r.dir.join("metrics.csv"), column)?;
        if data.is_empty() {
            bail!("{} has no `{column}` values", r.dir.join("metrics.csv").display());
        }
        series.push(data);
    }
    let end = series.iter().map(|d| d[d.len() - 1].0).fold(f64::INFINITY, f64::min);
    let start = series.iter().map(|d| d[0].0).fold(f64::NEG_INFINITY, f64::max);
    let at = |d: &[(f64, f64)], x: f64| -> f64 {
        let i = d.partition_point(|p| p.0 < x);
        if i == 0 {
            return d[0].1;
        }
        if i == d.len() {
            return d[d.len() - 1].1;
        }
        let (a, b) = (d[i - 1], d[i]);
        a.1 + (b.1 - a.1) * (x - a.0) / (b.0 - a.0).max(1e-12)
    };
    let points = points.max(2);
    Ok((0..points)
        .map(|k| {
            let x = start + (end - start) * k as f64 / (points - 1) as f64;
            let ys: Vec<f64> = series.iter().map(|d| at(d, x)).collect();
            let (m, sd) = mean_std(&ys);
            (x, m, sd)
        })
        .collect())
}

/// One plot of `column` against global step: a line per group (mean over seeds) with a
/// band of +- one std.
pub fn plot(groups: &[Group], column: &str, title: &str, out: &Path) -> Result<()> {
    register_font();
    let curves: Vec<(String, Vec<CurvePoint>)> =
        groups.iter().map(|g| Ok((g.name.clone(), curve(g, column, 100)?))).collect::<Result<_>>()?;
    let pts = curves.iter().flat_map(|(_, c)| c.iter());
    let (mut x1, mut y0, mut y1) = (1.0f64, f64::INFINITY, f64::NEG_INFINITY);
    for &(x, m, sd) in pts {
        x1 = x1.max(x);
        y0 = y0.min(m - sd);
        y1 = y1.max(m + sd);
    }
    let pad = ((y1 - y0).abs() * 0.05).max(1e-6);
    let root = BitMapBackend::new(out, (1000, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..x1, (y0 - pad)..(y1 + pad))?;
    chart.configure_mesh().x_desc("global step").y_desc(column).label_style(("sans-serif", 12)).draw()?;
    for (i, (name, c)) in curves.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let band: Vec<(f64, f64)> =
            c.iter().map(|p| (p.0, p.1 + p.2)).chain(c.iter().rev().map(|p| (p.0, p.1 - p.2))).collect();
        chart.draw_series(std::iter::once(Polygon::new(band, color.mix(0.15).filled())))?;
        chart
            .draw_series(LineSeries::new(c.iter().map(|p| (p.0, p.1)), color.stroke_width(2)))?
            .label(name.clone())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .draw()?;
    root.present().with_context(|| format!("cannot write {}", out.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_run(root: &Path, name: &str, ret: f64, completion: f64, returns: &[(u64, f64)]) {
        let d = root.join(name);
        std::fs::create_dir_all(&d).unwrap();
        let eval = serde_json::json!({
            "env_id": "Driving-v0", "mean_return": ret, "success_rate": null,
            "metrics": { "metrics.route_completion": completion, "metrics.mean_speed_kmh": 20.0 }
        });
        std::fs::write(d.join("eval.json"), eval.to_string()).unwrap();
        let mut csv = String::from("global_step,iteration,episodic_return\n");
        for (s, r) in returns {
            csv.push_str(&format!("{s},1,{r}\n"));
        }
        std::fs::write(d.join("metrics.csv"), csv).unwrap();
    }

    #[test]
    fn groups_seeds_into_rows_with_mean_and_std() {
        let root = std::env::temp_dir().join(format!("vlmgym-results-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        write_run(&root, "loop_gt_1", 10.0, 0.5, &[(0, 0.0), (100, 10.0)]);
        write_run(&root, "loop_gt_2", 20.0, 1.0, &[(0, 0.0), (200, 40.0)]);
        write_run(&root, "loop_clg_1", 5.0, 0.25, &[(0, 2.0), (100, 4.0)]);
        std::fs::create_dir_all(root.join("loop_clg_2")).unwrap(); // still training: skipped
        let groups = collect(&root, "eval.json").unwrap();
        assert_eq!(groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(), ["loop_clg", "loop_gt"]);
        let md = markdown(&groups);
        assert!(md.starts_with("| run | seeds | return | route completion % | speed km/h |"), "{md}");
        assert!(md.contains("| loop_gt | 1, 2 | 15.00 ± 5.00 | 75.00 ± 25.00 | 20.00 ± 0.00 |"), "{md}");
        assert!(md.contains("| loop_clg | 1 | 5.00 ± 0.00 | 25.00 ± 0.00 |"), "{md}");
        // Curves end at the shortest run; seed 2 at step 100 is 20 (linear), seed 1 is 10.
        let c = curve(&groups[1], "episodic_return", 3).unwrap();
        assert_eq!(c.len(), 3);
        assert!((c[2].0 - 100.0).abs() < 1e-9 && (c[2].1 - 15.0).abs() < 1e-9 && (c[2].2 - 5.0).abs() < 1e-9);
        plot(&groups, "episodic_return", "test", &root.join("curves.png")).unwrap();
        assert!(std::fs::metadata(root.join("curves.png")).unwrap().len() > 1000);
        let err = collect(&root.join("loop_clg_2"), "eval.json").unwrap_err().to_string();
        assert!(err.contains("no finished runs"), "{err}");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
