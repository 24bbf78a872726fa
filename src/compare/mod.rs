//! Methodology versions side by side on the same tape and deal: rating moves, flipped cells,
//! break-evens, the parameter diff, and which changed parameter groups cause each move.

use serde::Serialize;

use crate::deal::Deal;
use crate::methodology::{Change, FIELDS, Group, Methodology, Notch, OVERLAYS, Stress, diff};
use crate::rating::{self, BreakEvens, NoteRating, PoolCache, RatingError, RatingResult, overlay};
use crate::tape::Tape;

/// Position on the scale, with "below B-" one step under 'B-'.
pub fn position(n: Option<Notch>) -> i32 {
    n.map(|n| n.index() as i32).unwrap_or(16)
}

pub fn rating_name(n: Option<Notch>) -> String {
    n.map(|n| n.to_string())
        .unwrap_or_else(|| "below B-".into())
}

#[derive(Debug, Clone, Serialize)]
pub struct Move {
    pub class: String,
    pub from: String,
    pub to: String,
    /// Notches up (positive) or down (negative).
    pub notches: i32,
}

impl Move {
    pub fn text(&self) -> String {
        format!(
            "{}: {} -> {} ({:+})",
            self.class, self.from, self.to, self.notches
        )
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Flip {
    pub notch: String,
    pub class: String,
    pub from: &'static str,
    pub to: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct Attribution {
    pub class: String,
    pub group: &'static str,
    /// The class's rating under the first version with only this group taken from the second.
    pub alone: String,
    pub notches: i32,
    /// When the class's rating does not move but its break-even does: the class's rating and
    /// break-evens with only this group taken from the second version.
    pub break_even: Option<NoteRating>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Pair {
    pub from: String,
    pub to: String,
    pub different_ids: bool,
    pub moves: Vec<Move>,
    pub flips: Vec<Flip>,
    pub changes: Vec<Change>,
    pub attribution: Vec<Attribution>,
}

#[derive(Debug, Serialize)]
pub struct Version {
    pub name: String,
    pub sha256: String,
    pub result: RatingResult,
}

#[derive(Debug, Serialize)]
pub struct Comparison {
    pub versions: Vec<Version>,
    pub pairs: Vec<Pair>,
}

/// `a` with the fields of `group` taken from `b` at every notch. A price path taken from `b`
/// brings `b`'s shapes with it (a shape of the same name is `b`'s), so that a `path_shape` naming
/// a shape only `b` defines resolves.
fn hybrid(a: &Methodology, b: &Methodology, group: Group) -> Methodology {
    let mut h = a.clone();
    for (lh, lb) in h.levels.iter_mut().zip(&b.levels) {
        for (k, f) in FIELDS.iter().enumerate() {
            if f.group == group {
                lh.params[k] = lb.params[k].clone();
            }
        }
        if let Some(s) = Stress::from_params(&lh.params) {
            lh.stress = s;
        }
    }
    if group == Group::PricePath
        && let (Some(hm), Some(bm)) = (h.market.as_mut(), b.market.as_ref())
    {
        hm.shapes
            .extend(bm.shapes.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    h
}

/// `ra` (a rating under `a`) with `b`'s overlays in place of `a`'s: overlays act after the
/// grid, so nothing is rated again.
fn with_overlays(ra: &RatingResult, b: &Methodology) -> RatingResult {
    let mut r = ra.clone();
    for nr in &mut r.notes {
        let o = overlay::apply(nr.quantitative, &b.overlays);
        nr.indicated = o.rating;
        nr.overlays = o.binding;
    }
    r
}

/// Compares the versions in order (each with the next), reading the tape once.
pub fn compare(
    tape: &Tape,
    deal: &Deal,
    versions: &[Methodology],
) -> Result<Comparison, RatingError> {
    let mut cache = PoolCache::default();
    let mut results = Vec::new();
    for m in versions {
        results.push(rating::rate_with(
            tape,
            deal,
            m,
            &mut cache,
            BreakEvens::Search,
        )?);
    }
    let mut pairs = Vec::new();
    for i in 1..versions.len() {
        let (a, b) = (&versions[i - 1], &versions[i]);
        let (ra, rb) = (&results[i - 1], &results[i]);
        let changes = diff(a, b);
        let mut moves = Vec::new();
        for (na, nb) in ra.notes.iter().zip(&rb.notes) {
            let notches = position(na.indicated) - position(nb.indicated);
            if notches != 0 {
                moves.push(Move {
                    class: na.class.clone(),
                    from: rating_name(na.indicated),
                    to: rating_name(nb.indicated),
                    notches,
                });
            }
        }
        let mut flips = Vec::new();
        for (la, lb) in ra.levels.iter().zip(&rb.levels) {
            for (oa, ob) in la.notes.iter().zip(&lb.notes) {
                if oa.passed != ob.passed {
                    let word = |p: bool| if p { "pass" } else { "fail" };
                    flips.push(Flip {
                        notch: la.notch.to_string(),
                        class: oa.class.clone(),
                        from: word(oa.passed),
                        to: word(ob.passed),
                    });
                }
            }
        }
        // Attribution: each changed group of `b` applied alone to `a`, for the classes that moved,
        // or, when no class moved, for the classes whose break-evens moved (the hybrid's
        // break-evens are then searched too). A change of mode or of the market facts cannot be
        // applied alone to levels of the other kind: it is attributed as a whole (the second
        // version's rating).
        let mut attribution = Vec::new();
        let be_moved: Vec<String> = ra
            .notes
            .iter()
            .zip(&rb.notes)
            .filter(|(x, y)| {
                x.break_even != y.break_even || x.break_even_level != y.break_even_level
            })
            .map(|(x, _)| x.class.clone())
            .collect();
        let (classes, search): (Vec<String>, BreakEvens) = if !moves.is_empty() {
            (
                moves.iter().map(|m| m.class.clone()).collect(),
                BreakEvens::Skip,
            )
        } else {
            (be_moved, BreakEvens::Search)
        };
        if !classes.is_empty() {
            let whole = changes
                .iter()
                .find(|c| c.level == "mode" || (a.mode != b.mode && c.level == "market"))
                .map(|_| "mode (the whole stress)");
            let mut runs: Vec<(&'static str, RatingResult)> = Vec::new();
            match whole {
                Some(label) => runs.push((label, rb.clone())),
                None => {
                    for group in Group::ALL {
                        let names: Vec<&str> = group.fields().map(|f| f.name).collect();
                        if !changes
                            .iter()
                            .any(|c| c.level != OVERLAYS && names.contains(&c.field.as_str()))
                        {
                            continue;
                        }
                        let h = hybrid(a, b, group);
                        runs.push((
                            group.title(),
                            rating::rate_with(tape, deal, &h, &mut cache, search)?,
                        ));
                    }
                    if changes.iter().any(|c| c.level == "market") {
                        let mut h = a.clone();
                        h.market = b.market.clone();
                        runs.push((
                            "market facts",
                            rating::rate_with(tape, deal, &h, &mut cache, search)?,
                        ));
                    }
                    if changes.iter().any(|c| c.level == OVERLAYS) {
                        runs.push((OVERLAYS, with_overlays(ra, b)));
                    }
                }
            }
            for (group, rh) in runs.iter().map(|(g, r)| (*g, r)) {
                for class in &classes {
                    let k = ra.notes.iter().position(|n| &n.class == class).unwrap_or(0);
                    attribution.push(Attribution {
                        class: class.clone(),
                        group,
                        alone: rating_name(rh.notes[k].indicated),
                        notches: position(ra.notes[k].indicated) - position(rh.notes[k].indicated),
                        break_even: (moves.is_empty() && rh.notes[k].break_even.is_some())
                            .then(|| rh.notes[k].clone()),
                    });
                }
            }
        }
        pairs.push(Pair {
            from: a.name(),
            to: b.name(),
            different_ids: a.id != b.id,
            moves,
            flips,
            changes,
            attribution,
        });
    }
    let versions = versions
        .iter()
        .zip(results)
        .map(|(m, result)| Version {
            name: m.name(),
            sha256: m.sha256.clone(),
            result,
        })
        .collect();
    Ok(Comparison { versions, pairs })
}
