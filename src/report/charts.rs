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

/// How values map onto the plot's height.
#[derive(Clone, Copy)]
enum YScale {
    /// From 0 to `max`, a whole number of `step`s.
    Linear { max: f64, step: f64 },
    /// Probabilities from `10^lo` to `10^hi`, one gridline a decade, labelled in percent.
    LogPercent { lo: i32, hi: i32 },
    /// The rating scale as notches above no rating ([`rating_rank`]): 'B-' is 1, 'AAA' is 16;
    /// one gridline per category, labelled with its middle notch.
    Ratings,
}

/// A rating as a height on the [`YScale::Ratings`] axis: 0 for no rating ('D' or below 'B-').
pub fn rating_rank(n: Option<crate::methodology::Notch>) -> f64 {
    n.map_or(0.0, |n| {
        (crate::methodology::SCALE.len() - n.index()) as f64
    })
}

impl YScale {
    /// Linear from 0 to the first round tick at or above `max`.
    fn linear(max: f64) -> YScale {
        let yt = ticks(max);
        YScale::Linear {
            max: yt.last().copied().unwrap_or(1.0),
            step: yt.get(1).copied().unwrap_or(1.0),
        }
    }

    /// Share of the plot's height from its bottom.
    fn frac(self, v: f64) -> f64 {
        match self {
            YScale::Linear { max, .. } => v / max,
            YScale::LogPercent { lo, hi } => {
                (v.log10() - f64::from(lo)) / f64::from((hi - lo).max(1))
            }
            YScale::Ratings => v / crate::methodology::SCALE.len() as f64,
        }
    }

    /// The gridlines: value and label.
    fn gridlines(self) -> Vec<(f64, String)> {
        match self {
            YScale::Linear { max, step } => (0..=(max / step).round() as usize)
                .map(|i| {
                    let v = i as f64 * step;
                    (v, fmt_tick(v, step))
                })
                .collect(),
            YScale::LogPercent { lo, hi } => (lo..=hi)
                .map(|e| {
                    let v = 10f64.powi(e);
                    let places = (-(e + 2)).max(0) as usize;
                    (v, format!("{:.places$}%", v * 100.0))
                })
                .collect(),
            YScale::Ratings => std::iter::once((0.0, "none".to_string()))
                .chain(
                    crate::methodology::Notch::all()
                        .filter(|n| !n.name().ends_with(['+', '-']))
                        .map(|n| (rating_rank(Some(n)), n.name().to_string())),
                )
                .collect(),
        }
    }
}

/// The frame: title, y axis with gridlines and its title, x axis title. Holds the SVG opened,
/// the y scale and the bottom of the plot area.
struct Frame {
    svg: String,
    scale: YScale,
    bottom: f64,
}

impl Frame {
    fn new(title: &str, x: &str, y: &str, scale: YScale, legend_lines: usize) -> Frame {
        let bottom = TOP + PLOT_HEIGHT;
        let height = bottom + 56.0 + legend_lines as f64 * LEGEND_LINE + 8.0;
        let mut svg = String::new();
        let _ = write!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" font-family="Helvetica, Arial, sans-serif" font-size="12" role="img" aria-label="{t}"><title>{t}</title><rect width="100%" height="100%" fill="white"/><text x="{cx}" y="24" font-size="15" font-weight="bold" text-anchor="middle">{t}</text>"#,
            t = label(title),
            cx = WIDTH / 2.0
        );
        for (v, text) in scale.gridlines() {
            let py = bottom - scale.frac(v) * PLOT_HEIGHT;
            let _ = write!(
                svg,
                r##"<line x1="{LEFT}" x2="{x2}" y1="{py:.1}" y2="{py:.1}" stroke="#e1e4e8"/><text x="{tx}" y="{ty:.1}" text-anchor="end">{text}</text>"##,
                x2 = WIDTH - RIGHT,
                tx = LEFT - 6.0,
                ty = py + 4.0,
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
        Frame { svg, scale, bottom }
    }

    /// Ticks along the x axis from `x_min` to `x_max` (about eight, round); returns the x scale
    /// (value -> pixel).
    fn x_axis(&mut self, x_min: f64, x_max: f64) -> impl Fn(f64) -> f64 + use<> {
        let width = WIDTH - LEFT - RIGHT;
        let px = move |v: f64| LEFT + (v - x_min) / (x_max - x_min) * width;
        let xt = nice_step(x_max - x_min, 8.0);
        let mut t = (x_min / xt).ceil() * xt;
        while t <= x_max + 1e-9 {
            let _ = write!(
                self.svg,
                r##"<line x1="{p:.1}" x2="{p:.1}" y1="{b}" y2="{b5}" stroke="#57606a"/><text x="{p:.1}" y="{ty}" text-anchor="middle">{v}</text>"##,
                p = px(t),
                b = self.bottom,
                b5 = self.bottom + 5.0,
                ty = self.bottom + 18.0,
                v = fmt_tick(t, xt)
            );
            t += xt;
        }
        px
    }

    fn y(&self, v: f64) -> f64 {
        self.bottom - self.scale.frac(v) * PLOT_HEIGHT
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
    let y_max = series
        .iter()
        .flat_map(|(_, p)| p.iter())
        .map(|p| p.1)
        .fold(0.0, f64::max);
    lines_on(title, x, y, series, YScale::linear(y_max))
}

/// A line chart of ratings ([`rating_rank`] heights), the y axis labelled by category.
pub fn rating_lines(title: &str, x: &str, series: &[(String, Vec<(f64, f64)>)]) -> String {
    lines_on(title, x, "rating", series, YScale::Ratings)
}

fn lines_on(
    title: &str,
    x: &str,
    y: &str,
    series: &[(String, Vec<(f64, f64)>)],
    scale: YScale,
) -> String {
    let all = || series.iter().flat_map(|(_, p)| p.iter());
    let x_min = all().map(|p| p.0).fold(f64::INFINITY, f64::min);
    let x_max = all().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
    let (x_min, x_max) = if x_min.is_finite() && x_max > x_min {
        (x_min, x_max)
    } else {
        (0.0, 1.0)
    };
    let mut f = Frame::new(title, x, y, scale, series.len());
    let px = f.x_axis(x_min, x_max);
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
    let mut f = Frame::new(title, x, y, YScale::linear(y_max), 0);
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

/// A histogram of shares (of a pool, of a loan count) over simulated paths: the share of paths
/// in each bucket. Paths at exactly 0 get a bar of their own (`0%`, the point mass a loss
/// distribution has); the others fall in round buckets `(lo, hi]` up to the largest value. All
/// values 0 give the one bar.
pub fn share_histogram(title: &str, x: &str, values: &[f64]) -> String {
    let n = values.len().max(1) as f64;
    let max = values.iter().copied().fold(0.0, f64::max) * 100.0;
    let zeros = values.iter().filter(|v| **v <= 0.0).count();
    let mut buckets: Vec<(String, f64)> = Vec::new();
    if zeros > 0 {
        buckets.push(("0%".into(), zeros as f64 / n * 100.0));
    }
    if max > 0.0 {
        let step = nice_step(max, 8.0);
        let k = ((max / step).ceil() as usize).max(1);
        let mut counts = vec![0usize; k];
        for v in values.iter().map(|v| v * 100.0).filter(|v| *v > 0.0) {
            let i = ((v / step).ceil() as usize).clamp(1, k) - 1;
            counts[i] += 1;
        }
        // `0.5`, `1`, `1.5`: as short as a bar's width wants.
        let bound = |i: usize| {
            let t = fmt_tick(i as f64 * step, step);
            match t.contains('.') {
                true => t.trim_end_matches('0').trim_end_matches('.').to_string(),
                false => t,
            }
        };
        for (i, c) in counts.into_iter().enumerate() {
            buckets.push((
                format!("{}-{}%", bound(i), bound(i + 1)),
                c as f64 / n * 100.0,
            ));
        }
    }
    bars(title, x, "% of paths", &buckets)
}

/// An exceedance curve: for each x (a share, drawn in percent), the share of paths whose value
/// is above x, on a log scale from one path in all of them to 100%. `values` sorted ascending.
/// `None` when no value is above 0: there is no curve to draw.
pub fn exceedance(title: &str, x: &str, legend: &str, values: &[f64]) -> Option<String> {
    let len = values.len();
    let max = values.last().copied().filter(|m| *m > 0.0)?;
    let n = len as f64;
    let lo = (1.0 / n).log10().floor() as i32;
    let mut f = Frame::new(
        title,
        x,
        "probability the loss is above x",
        YScale::LogPercent { lo, hi: 0 },
        1,
    );
    // x from 0 to the first round tick at or above the largest value.
    let x_max = ticks(max * 100.0).last().copied().unwrap_or(100.0);
    let px = f.x_axis(0.0, x_max);
    // The step function P(L > x): flat between the values paths take, down at each.
    let mut i = values.partition_point(|v| *v <= 0.0);
    let mut above = len - i;
    let mut points = vec![(0.0, above as f64 / n)];
    while i < len {
        let u = values[i];
        points.push((u, above as f64 / n));
        i = values.partition_point(|v| *v <= u);
        above = len - i;
        if above > 0 {
            points.push((u, above as f64 / n));
        }
    }
    let mut pixels: Vec<String> = points
        .iter()
        .map(|(a, b)| format!("{:.1},{:.1}", px(a * 100.0), f.y(*b)))
        .collect();
    // Above the largest value no path: the curve falls off the log scale.
    pixels.push(format!("{:.1},{:.1}", px(max * 100.0), f.bottom));
    let _ = write!(
        f.svg,
        r#"<polyline fill="none" {s} stroke-width="2.5" points="{p}"/>"#,
        s = stroke(0),
        p = pixels.join(" ")
    );
    f.legend(&[legend]);
    Some(f.finish())
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
    fn a_share_histogram_gives_no_loss_its_own_bar() {
        let svg = share_histogram("Pool loss", "loss", &[0.0, 0.0, 0.004, 0.011, 0.02]);
        // Two of five paths at 0; the rest in buckets of 0.5 points up to 2%.
        assert!(svg.contains("<title>0%: 40.00</title>"), "{svg}");
        assert!(svg.contains("<title>0-0.5%: 20.00</title>"), "{svg}");
        assert!(svg.contains("<title>1-1.5%: 20.00</title>"), "{svg}");
        assert!(svg.contains("<title>1.5-2%: 20.00</title>"), "{svg}");
        let none = share_histogram("Pool loss", "loss", &[0.0, 0.0]);
        assert!(none.contains("<title>0%: 100.00</title>"), "{none}");
        assert_eq!(none.matches("<rect x=").count(), 1, "{none}");
    }

    #[test]
    fn an_exceedance_curve_steps_down_at_each_loss_on_a_log_scale() {
        assert_eq!(exceedance("t", "x", "l", &[0.0, 0.0]), None);
        let mut v = vec![0.0; 996];
        v.extend([0.1, 0.1, 0.2, 0.5]);
        let svg = exceedance("Class B", "loss", "Class B", &v).unwrap();
        // Decades from 0.1% (one path in 1,000) to 100%.
        for label in [">0.1%</text>", ">1%</text>", ">10%</text>", ">100%</text>"] {
            assert!(svg.contains(label), "{label} in {svg}");
        }
        assert!(!svg.contains(">0.01%</text>"), "{svg}");
        // 4 paths above 0 (0.4%), 2 above 0.1, 1 above 0.2 and 0.5 -> 0.1% at the end.
        let y = |p: f64| TOP + PLOT_HEIGHT - (p.log10() + 3.0) / 3.0 * PLOT_HEIGHT;
        // x up to 50%, a round tick.
        let x = |l: f64| LEFT + l / 0.5 * (WIDTH - LEFT - RIGHT);
        for (l, p) in [
            (0.0, 0.004),
            (0.1, 0.004),
            (0.1, 0.002),
            (0.2, 0.001),
            (0.5, 0.001),
        ] {
            let point = format!("{:.1},{:.1}", x(l), y(p));
            assert!(svg.contains(&point), "{point} in {svg}");
        }
        assert!(svg.contains(">Class B</text>"), "{svg}");
    }

    #[test]
    fn ticks_are_round_and_cover_the_data() {
        assert_eq!(ticks(25.52), [0.0, 10.0, 20.0, 30.0]);
        assert_eq!(ticks(160.0), [0.0, 50.0, 100.0, 150.0, 200.0]);
    }
}
