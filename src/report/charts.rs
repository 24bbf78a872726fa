//! Charts of the rationale, as small self-contained SVG strings written by hand.
//!
//! A chart must read without its caption: every series is named in full in a legend below the
//! plot, one entry a line, and a histogram's bars carry their bucket names. poloto 19 (used
//! before) draws its legend in a fixed 125-pixel column at the right edge of the picture, so a
//! name longer than about twelve characters ran off the canvas ("Balance by cu"), and its axes
//! only print numbers. The SVG needed is a few rectangles, polylines and texts: no fonts, no
//! scripts, no assets; every text from a deal file is escaped.

use std::fmt::Write as _;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

/// Text reaches the SVG as character data or attribute values: escape it (class names come from
/// the deal file).
fn label(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn millions(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0) / 1_000_000.0
}

/// Colours of the series, in order (distinguishable in print and for most colour vision).
const COLOURS: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
];

/// Dash patterns of the series, in order: where two series coincide (a class not yet paid down
/// at two levels) the one drawn last still lets the one under it show.
const DASHES: [&str; 4] = ["none", "9 4", "3 3", "12 4 3 4"];

fn stroke(i: usize) -> String {
    format!(
        r#"stroke="{}" stroke-dasharray="{}""#,
        COLOURS[i % COLOURS.len()],
        DASHES[i % DASHES.len()]
    )
}

const WIDTH: f64 = 640.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 40.0;
const PLOT_HEIGHT: f64 = 260.0;
const LEGEND_LINE: f64 = 18.0;

/// A round step giving about `n` intervals over `span`: 1, 2 or 5 times a power of ten.
fn nice_step(span: f64, n: f64) -> f64 {
    if span <= 0.0 || !span.is_finite() {
        return 1.0;
    }
    let raw = span / n;
    let p = 10f64.powf(raw.log10().floor());
    let m = raw / p;
    let k = if m <= 1.0 {
        1.0
    } else if m <= 2.0 {
        2.0
    } else if m <= 5.0 {
        5.0
    } else {
        10.0
    };
    k * p
}

/// Ticks from 0 to at least `max`.
fn ticks(max: f64) -> Vec<f64> {
    let step = nice_step(max, 5.0);
    let n = (max / step).ceil().max(1.0) as usize;
    (0..=n).map(|i| i as f64 * step).collect()
}

fn fmt_tick(v: f64, step: f64) -> String {
    if step >= 1.0 {
        format!("{v:.0}")
    } else {
        let places = (-step.log10().floor()) as usize;
        format!("{v:.places$}")
    }
}

/// The frame: title, y axis with gridlines and its title, x axis title. Returns the SVG opened,
/// the y scale (value -> pixel) and the bottom of the plot area.
struct Frame {
    svg: String,
    y_max: f64,
    bottom: f64,
}

impl Frame {
    fn new(title: &str, x: &str, y: &str, y_max: f64, legend_lines: usize) -> Frame {
        let yt = ticks(y_max);
        let y_max = yt.last().copied().unwrap_or(1.0);
        let bottom = TOP + PLOT_HEIGHT;
        let height = bottom + 56.0 + legend_lines as f64 * LEGEND_LINE + 8.0;
        let mut svg = String::new();
        let _ = write!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" font-family="Helvetica, Arial, sans-serif" font-size="12" role="img" aria-label="{t}"><title>{t}</title><rect width="100%" height="100%" fill="white"/><text x="{cx}" y="24" font-size="15" font-weight="bold" text-anchor="middle">{t}</text>"#,
            t = label(title),
            cx = WIDTH / 2.0
        );
        let step = yt.get(1).copied().unwrap_or(1.0);
        for v in &yt {
            let py = bottom - v / y_max * PLOT_HEIGHT;
            let _ = write!(
                svg,
                r##"<line x1="{LEFT}" x2="{x2}" y1="{py:.1}" y2="{py:.1}" stroke="#e1e4e8"/><text x="{tx}" y="{ty:.1}" text-anchor="end">{v}</text>"##,
                x2 = WIDTH - RIGHT,
                tx = LEFT - 6.0,
                ty = py + 4.0,
                v = fmt_tick(*v, step)
            );
        }
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{bottom}" stroke="#57606a"/><line x1="{LEFT}" x2="{x2}" y1="{bottom}" y2="{bottom}" stroke="#57606a"/><text transform="translate(16 {my}) rotate(-90)" text-anchor="middle">{y}</text><text x="{mx}" y="{ay}" text-anchor="middle">{x}</text>"##,
            x2 = WIDTH - RIGHT,
            my = TOP + PLOT_HEIGHT / 2.0,
            mx = LEFT + (WIDTH - LEFT - RIGHT) / 2.0,
            ay = bottom + 40.0,
            y = label(y),
            x = label(x),
        );
        Frame { svg, y_max, bottom }
    }

    fn y(&self, v: f64) -> f64 {
        self.bottom - v / self.y_max * PLOT_HEIGHT
    }

    /// One legend entry per line below the x axis title, the name in full.
    fn legend(&mut self, names: &[&str]) {
        for (i, name) in names.iter().enumerate() {
            let ly = self.bottom + 62.0 + i as f64 * LEGEND_LINE;
            let _ = write!(
                self.svg,
                r#"<line x1="{LEFT}" x2="{x2}" y1="{ly}" y2="{ly}" {s} stroke-width="3"/><text x="{tx}" y="{ty}">{n}</text>"#,
                s = stroke(i),
                x2 = LEFT + 36.0,
                tx = LEFT + 42.0,
                ty = ly + 4.0,
                n = label(name)
            );
        }
    }

    fn finish(mut self) -> String {
        self.svg.push_str("</svg>");
        self.svg
    }
}

/// A line chart: one series per `(name, points)`, x from the smallest to the largest x given.
pub fn lines(title: &str, x: &str, y: &str, series: &[(String, Vec<(f64, f64)>)]) -> String {
    let all = || series.iter().flat_map(|(_, p)| p.iter());
    let x_min = all().map(|p| p.0).fold(f64::INFINITY, f64::min);
    let x_max = all().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
    let (x_min, x_max) = if x_min.is_finite() && x_max > x_min {
        (x_min, x_max)
    } else {
        (0.0, 1.0)
    };
    let y_max = all().map(|p| p.1).fold(0.0, f64::max);
    let mut f = Frame::new(title, x, y, y_max, series.len());
    let width = WIDTH - LEFT - RIGHT;
    let px = |v: f64| LEFT + (v - x_min) / (x_max - x_min) * width;
    let xt = nice_step(x_max - x_min, 8.0);
    let mut t = (x_min / xt).ceil() * xt;
    while t <= x_max + 1e-9 {
        let _ = write!(
            f.svg,
            r##"<line x1="{p:.1}" x2="{p:.1}" y1="{b}" y2="{b5}" stroke="#57606a"/><text x="{p:.1}" y="{ty}" text-anchor="middle">{v}</text>"##,
            p = px(t),
            b = f.bottom,
            b5 = f.bottom + 5.0,
            ty = f.bottom + 18.0,
            v = fmt_tick(t, xt)
        );
        t += xt;
    }
    for (i, (_, pts)) in series.iter().enumerate() {
        let points: Vec<String> = pts
            .iter()
            .map(|(a, b)| format!("{:.1},{:.1}", px(*a), f.y(*b)))
            .collect();
        let _ = write!(
            f.svg,
            r#"<polyline fill="none" {s} stroke-width="2.5" points="{p}"/>"#,
            s = stroke(i),
            p = points.join(" ")
        );
    }
    let names: Vec<&str> = series.iter().map(|(n, _)| n.as_str()).collect();
    f.legend(&names);
    f.finish()
}

/// A histogram: one bar per `(bucket name, value)`, the name under its bar.
pub fn bars(title: &str, x: &str, y: &str, buckets: &[(String, f64)]) -> String {
    let y_max = buckets.iter().map(|b| b.1).fold(0.0, f64::max);
    let mut f = Frame::new(title, x, y, y_max, 0);
    let slot = (WIDTH - LEFT - RIGHT) / buckets.len().max(1) as f64;
    for (i, (name, v)) in buckets.iter().enumerate() {
        let x0 = LEFT + i as f64 * slot;
        let top = f.y(*v);
        let _ = write!(
            f.svg,
            r#"<rect x="{x:.1}" y="{top:.1}" width="{w:.1}" height="{h:.1}" fill="{c}"><title>{n}: {v:.2}</title></rect><text x="{cx:.1}" y="{ty}" text-anchor="middle" font-size="11">{n}</text>"#,
            x = x0 + slot * 0.1,
            w = slot * 0.8,
            h = f.bottom - top,
            c = COLOURS[0],
            cx = x0 + slot / 2.0,
            ty = f.bottom + 18.0,
            n = label(name),
        );
    }
    f.finish()
}

/// Points `(period, amount in $M)`.
pub fn series(points: impl Iterator<Item = (u32, Decimal)>) -> Vec<(f64, f64)> {
    points.map(|(t, v)| (t as f64, millions(v))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legends_are_whole_and_escaped() {
        let svg = lines(
            "Note balances",
            "period",
            "$M",
            &[
                (
                    "Class A&B at 'BBB-'".into(),
                    vec![(0.0, 160.0), (12.0, 0.0)],
                ),
                (
                    "cumulative recoveries at 'BBB-'".into(),
                    vec![(0.0, 0.0), (12.0, 50.0)],
                ),
            ],
        );
        assert!(svg.contains(">Class A&amp;B at 'BBB-'</text>"), "{svg}");
        assert!(
            svg.contains(">cumulative recoveries at 'BBB-'</text>"),
            "{svg}"
        );
    }

    #[test]
    fn bars_carry_their_bucket_names() {
        let svg = bars(
            "Balance by current LTV bucket",
            "current LTV",
            "% of balance",
            &[("<40%".into(), 0.3), ("40-45%".into(), 3.2)],
        );
        assert!(svg.contains(">&lt;40%</text>"), "{svg}");
        assert!(svg.contains(">40-45%</text>"), "{svg}");
    }

    #[test]
    fn ticks_are_round_and_cover_the_data() {
        assert_eq!(ticks(25.52), [0.0, 10.0, 20.0, 30.0]);
        assert_eq!(ticks(160.0), [0.0, 50.0, 100.0, 150.0, 200.0]);
    }
}
