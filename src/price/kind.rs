//! The four kinds of price model, as `--model` and the model files name them.

/// The four kinds of model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    Gbm,
    Merton,
    GarchT,
    Bootstrap,
}

impl ModelKind {
    pub const ALL: [ModelKind; 4] = [
        ModelKind::Gbm,
        ModelKind::Merton,
        ModelKind::GarchT,
        ModelKind::Bootstrap,
    ];

    /// As `--model` and the model file name it: `gbm`, `merton`, `garch-t`, `bootstrap`.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Gbm => "gbm",
            ModelKind::Merton => "merton",
            ModelKind::GarchT => "garch-t",
            ModelKind::Bootstrap => "bootstrap",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            ModelKind::Gbm => "geometric Brownian motion",
            ModelKind::Merton => "Merton jump diffusion",
            ModelKind::GarchT => "GARCH(1,1) with Student-t innovations",
            ModelKind::Bootstrap => "stationary block bootstrap of historical returns",
        }
    }
}

impl std::fmt::Display for ModelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for ModelKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ModelKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| format!("unknown model `{s}` (gbm, merton, garch-t, bootstrap)"))
    }
}
