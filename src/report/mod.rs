//! The rating rationale: a view model of preformatted strings rendered by Tera templates into
//! Markdown and a self-contained HTML file, written with the run's JSON, CSV and Excel outputs.
//!
//! The default templates (`reports/templates/`) are compiled in; `--templates DIR` replaces them
//! with an analyst's copies. HTML is auto-escaped: text from a tape or deal stays text.

pub mod auto;
mod charts;
pub mod comparison;
pub mod overlays;
pub mod published;
pub mod simulation;
pub mod surveillance;
pub mod table;
mod view;
mod xlsx;

use std::path::{Path, PathBuf};

pub use view::{Inputs, Provenance, Rationale, decline_phrase, gap_phrase, rationale, stated_gap};
pub use xlsx::workbook;

pub const MARKDOWN: &str = "rationale.md";
pub const HTML: &str = "rationale.html";

pub const COMPARISON_MD: &str = "comparison.md";
pub const COMPARISON_HTML: &str = "comparison.html";

/// Templates an analyst's directory may leave out: the bundled ones are used instead, so that a
/// directory written for the rationale serves every report.
const OPTIONAL: [&str; 8] = [
    auto::MARKDOWN,
    auto::HTML,
    COMPARISON_MD,
    COMPARISON_HTML,
    simulation::MARKDOWN,
    simulation::HTML,
    surveillance::MARKDOWN,
    surveillance::HTML,
];

const DEFAULT_MARKDOWN: &str = include_str!("../../reports/templates/rationale.md");
const DEFAULT_COMPARISON_MD: &str = include_str!("../../reports/templates/comparison.md");
const DEFAULT_COMPARISON_HTML: &str = include_str!("../../reports/templates/comparison.html");
const DEFAULT_HTML: &str = include_str!("../../reports/templates/rationale.html");
const DEFAULT_SIMULATION_MD: &str = include_str!("../../reports/templates/simulation.md");
const DEFAULT_SIMULATION_HTML: &str = include_str!("../../reports/templates/simulation.html");
const DEFAULT_AUTO_MD: &str = include_str!("../../reports/templates/auto-rationale.md");
const DEFAULT_AUTO_HTML: &str = include_str!("../../reports/templates/auto-rationale.html");
const DEFAULT_SURVEILLANCE_MD: &str = include_str!("../../reports/templates/surveillance.md");
const DEFAULT_SURVEILLANCE_HTML: &str = include_str!("../../reports/templates/surveillance.html");

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{}: cannot read template: {message}", path.display())]
    Template { path: PathBuf, message: String },
    /// `--templates` names something other than a directory.
    #[error("{}: {message} (--templates names a directory of templates)", path.display())]
    TemplatesDir { path: PathBuf, message: String },
    #[error("cannot render {template}: {message}")]
    Render { template: String, message: String },
    #[error("cannot build the workbook: {0}")]
    Workbook(String),
    /// A report's inputs disagree with each other: a bug.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ReportError {
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            ReportError::Template { .. }
                | ReportError::TemplatesDir { .. }
                | ReportError::Render { .. }
        )
    }
}

fn tera(templates: Option<&Path>) -> Result<tera::Tera, ReportError> {
    if let Some(dir) = templates
        && !dir.is_dir()
    {
        return Err(ReportError::TemplatesDir {
            path: dir.to_path_buf(),
            message: if dir.exists() {
                "not a directory".into()
            } else {
                "no such directory".into()
            },
        });
    }
    let mut t = tera::Tera::new();
    for (name, default) in [
        (MARKDOWN, DEFAULT_MARKDOWN),
        (HTML, DEFAULT_HTML),
        (COMPARISON_MD, DEFAULT_COMPARISON_MD),
        (COMPARISON_HTML, DEFAULT_COMPARISON_HTML),
        (simulation::MARKDOWN, DEFAULT_SIMULATION_MD),
        (simulation::HTML, DEFAULT_SIMULATION_HTML),
        (surveillance::MARKDOWN, DEFAULT_SURVEILLANCE_MD),
        (surveillance::HTML, DEFAULT_SURVEILLANCE_HTML),
        (auto::MARKDOWN, DEFAULT_AUTO_MD),
        (auto::HTML, DEFAULT_AUTO_HTML),
    ] {
        let text = match templates {
            // Left out, not merely unreadable: a directory in its place is an error below.
            Some(dir) if OPTIONAL.contains(&name) && !dir.join(name).exists() => {
                default.to_string()
            }
            Some(dir) => {
                let path = dir.join(name);
                std::fs::read_to_string(&path).map_err(|e| ReportError::Template {
                    path,
                    message: crate::input::reason(&e),
                })?
            }
            None => default.to_string(),
        };
        t.add_raw_template(name, &text)
            .map_err(|e| ReportError::Render {
                template: name.into(),
                message: e.to_string(),
            })?;
    }
    Ok(t)
}

/// Renders the Markdown and HTML rationales.
pub fn render(view: &Rationale, templates: Option<&Path>) -> Result<(String, String), ReportError> {
    render_with(view, templates, MARKDOWN, HTML)
}

/// Renders any view with the bundled templates `md` and `html`.
pub fn render_named<V: serde::Serialize>(
    view: &V,
    md: &str,
    html: &str,
) -> Result<(String, String), ReportError> {
    render_with(view, None, md, html)
}

/// Renders any view with the templates `md` and `html`, from `templates` (an analyst's
/// directory) where given, else the bundled ones.
pub fn render_named_in<V: serde::Serialize>(
    view: &V,
    templates: Option<&Path>,
    md: &str,
    html: &str,
) -> Result<(String, String), ReportError> {
    render_with(view, templates, md, html)
}

fn render_with<V: serde::Serialize>(
    view: &V,
    templates: Option<&Path>,
    md: &str,
    html: &str,
) -> Result<(String, String), ReportError> {
    let t = tera(templates)?;
    let ctx = tera::Context::from_serialize(view).map_err(|e| ReportError::Render {
        template: "context".into(),
        message: e.to_string(),
    })?;
    let render = |name: &str| {
        t.render(name, &ctx).map_err(|e| ReportError::Render {
            template: name.into(),
            message: format!("{e:?}"),
        })
    };
    Ok((render(md)?, render(html)?))
}
