//! The rating scale: 16 notches from 'AAA' down to 'B-'.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// One notch of the scale. `Ord` follows the scale downward: `AAA < AA+ < ... < B-`, so a
/// *smaller* notch is a *higher* rating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Notch(u8);

impl Default for Notch {
    fn default() -> Self {
        Notch::AAA
    }
}

/// The notches in order, highest rating first.
pub const SCALE: [&str; 16] = [
    "AAA", "AA+", "AA", "AA-", "A+", "A", "A-", "BBB+", "BBB", "BBB-", "BB+", "BB", "BB-", "B+",
    "B", "B-",
];

impl Notch {
    pub const AAA: Notch = Notch(0);
    pub const B_MINUS: Notch = Notch(15);

    /// Every notch, highest rating first.
    pub fn all() -> impl DoubleEndedIterator<Item = Notch> + ExactSizeIterator {
        (0..SCALE.len() as u8).map(Notch)
    }

    /// Position on the scale, 0 for 'AAA'.
    pub fn index(self) -> usize {
        self.0 as usize
    }

    pub fn name(self) -> &'static str {
        SCALE[self.0 as usize]
    }

    /// The notch `k` below this one (a lower rating); `None` below 'B-'.
    pub fn down(self, k: u8) -> Option<Notch> {
        let i = self.0.checked_add(k)?;
        (usize::from(i) < SCALE.len()).then_some(Notch(i))
    }

    /// The next notch up (a higher rating), if any.
    pub fn up(self) -> Option<Notch> {
        self.0.checked_sub(1).map(Notch)
    }
}

impl fmt::Display for Notch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Notch {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SCALE
            .iter()
            .position(|n| *n == s)
            .map(|i| Notch(i as u8))
            .ok_or_else(|| format!("`{s}` is not a notch of the scale (AAA, AA+, ..., B-)"))
    }
}

impl Serialize for Notch {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// A notch as written in a file (`cap: "A+"`, a deal's `published_stress.level`): the parser
/// locates a name that is not on the scale, with the nearest one as a hint.
impl<'de> serde::Deserialize<'de> for Notch {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(|e: String| {
            let hint = super::suggest::closest(&text, SCALE.iter().copied())
                .map(|c| format!("; did you mean `{c}`?"))
                .unwrap_or_default();
            serde::de::Error::custom(format!("{e}{hint}"))
        })
    }
}

impl schemars::JsonSchema for Notch {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Notch".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A notch of the rating scale, 'AAA' (highest) to 'B-'",
            "enum": SCALE,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scale_runs_from_aaa_to_b_minus() {
        let all: Vec<String> = Notch::all().map(|n| n.to_string()).collect();
        assert_eq!(all.len(), 16);
        assert_eq!(all.first().map(String::as_str), Some("AAA"));
        assert_eq!(all.last().map(String::as_str), Some("B-"));
        assert!("A".parse::<Notch>().unwrap() < "BBB-".parse::<Notch>().unwrap());
        assert!("BBB+-".parse::<Notch>().is_err());
        assert_eq!("BBB".parse::<Notch>().unwrap().up().unwrap().name(), "BBB+");
        assert_eq!(Notch::AAA.up(), None);
        assert_eq!(Notch::AAA.down(15), Some(Notch::B_MINUS));
        assert_eq!(Notch::AAA.down(16), None);
        assert_eq!(Notch::B_MINUS.down(255), None);
    }
}
