//! Charts of the rationale, as self-contained SVG strings (poloto: pure SVG, no fonts, no assets).

use poloto::build;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

/// Labels reach the SVG as text: escape them (class names come from the deal file).
fn label(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn millions(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0) / 1_000_000.0
}

/// A line chart: one series per `(name, points)`.
pub fn lines(title: &str, x: &str, y: &str, series: &[(String, Vec<(f64, f64)>)]) -> String {
    let plots: Vec<_> = series
        .iter()
        .map(|(name, pts)| {
            build::plot(label(name))
                .line(pts.iter().map(|(a, b)| [*a, *b]).collect::<Vec<[f64; 2]>>())
        })
        .collect();
    poloto::frame_build()
        .data(poloto::plots!(build::origin(), plots))
        .build_and_label((label(title), label(x), label(y)))
        .append_to(poloto::header().light_theme())
        .render_string()
        .unwrap_or_default()
}

/// A histogram of shares by bucket (x = bucket index).
pub fn bars(title: &str, x: &str, y: &str, values: &[f64]) -> String {
    let pts: Vec<[f64; 2]> = values
        .iter()
        .enumerate()
        .map(|(i, v)| [i as f64, *v])
        .collect();
    poloto::frame_build()
        .data(poloto::plots!(
            build::origin(),
            build::plot(label(title)).histogram(pts)
        ))
        .build_and_label((label(title), label(x), label(y)))
        .append_to(poloto::header().light_theme())
        .render_string()
        .unwrap_or_default()
}

/// Points `(period, amount in $M)`.
pub fn series(points: impl Iterator<Item = (u32, Decimal)>) -> Vec<(f64, f64)> {
    points.map(|(t, v)| (t as f64, millions(v))).collect()
}
