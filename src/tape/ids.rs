//! Exact passes over the id columns of a large tape: are the loan ids distinct, and what does each
//! borrower owe.
//!
//! Asked through a hash table of strings (polars `n_unique`, `group_by`) these two questions were
//! most of the time of a 10M-loan summary (BENCHMARKS.md). Here each id is hashed once to 64 bits
//! (foldhash with a fixed seed), the `(hash, row)` pairs are sorted in parallel, and the rows of one
//! id end up next to each other. A run of equal hashes is then checked string by string, so a hash
//! collision never merges two ids and never hides a duplicate: the answers are exact, and the
//! order of the groups (hash, then text) is the same on every run.

use std::hash::BuildHasher;

use polars::prelude::*;
use rayon::prelude::*;

use super::error::TapeError;

/// The hasher of the id passes. Fixed seed: the same tape gives the same group order.
fn hasher() -> foldhash::fast::FixedState {
    foldhash::fast::FixedState::with_seed(0x0ab5_7a7e)
}

/// Random access by row into the chunks of a column.
struct Rows<'a, T: PolarsDataType> {
    arrays: Vec<&'a T::Array>,
    /// The first row of each chunk.
    starts: Vec<usize>,
}

impl<'a, T: PolarsDataType> Rows<'a, T> {
    fn new(ca: &'a ChunkedArray<T>) -> Self {
        let mut starts = Vec::new();
        let mut at = 0;
        for len in ca.chunk_lengths() {
            starts.push(at);
            at += len;
        }
        Rows {
            arrays: ca.downcast_iter().collect(),
            starts,
        }
    }

    /// The chunk holding `row` and the row's index inside it.
    fn locate(&self, row: usize) -> (&'a T::Array, usize) {
        let k = self.starts.partition_point(|&s| s <= row).saturating_sub(1);
        (self.arrays[k], row - self.starts[k])
    }
}

fn text<'a>(rows: &Rows<'a, StringType>, row: u32) -> &'a str {
    let (a, i) = rows.locate(row as usize);
    a.value(i)
}

fn row_index(row: usize) -> Result<u32, TapeError> {
    u32::try_from(row).map_err(|_| TapeError::Internal {
        context: "indexing ids",
        message: format!("more than {} loans in one tape", u32::MAX),
    })
}

/// One non-null id: its hash, its row, and what travels with it through the sort (so that the
/// pass over the sorted ids reads memory in order instead of jumping back to the frame).
#[derive(Debug, Clone, Copy)]
struct Entry<P> {
    hash: u64,
    row: u32,
    payload: P,
}

/// The entries of every non-null id, sorted by hash then row.
fn hashed<P: Copy + Send>(
    ids: &StringChunked,
    build: &impl BuildHasher,
    payloads: impl Iterator<Item = Result<P, TapeError>>,
) -> Result<Vec<Entry<P>>, TapeError> {
    let mut entries = Vec::with_capacity(ids.len() - ids.null_count());
    for (row, (id, payload)) in ids.iter().zip(payloads).enumerate() {
        let payload = payload?;
        if let Some(id) = id {
            entries.push(Entry {
                hash: build.hash_one(id),
                row: row_index(row)?,
                payload,
            });
        }
    }
    entries.par_sort_unstable_by_key(|e| (e.hash, e.row));
    Ok(entries)
}

/// `per_id` applied to the entries of each distinct non-null id (rows ascending within an id), in
/// the order of the sorted hashes. The sorted entries are cut into slices at id boundaries and
/// the slices walked in parallel; results keep their order.
fn per_id<P, R>(
    ids: &StringChunked,
    build: &impl BuildHasher,
    payloads: impl Iterator<Item = Result<P, TapeError>>,
    per_id: impl Fn(&[Entry<P>]) -> R + Sync,
) -> Result<Vec<R>, TapeError>
where
    P: Copy + Send + Sync,
    R: Send,
{
    let rows = Rows::new(ids);
    let entries = hashed(ids, build, payloads)?;
    let pieces = 4 * rayon::current_num_threads().max(1);
    let mut cuts = vec![0];
    for k in 1..pieces {
        let mut at = (entries.len() * k / pieces).max(cuts[cuts.len() - 1]);
        while at > 0 && at < entries.len() && entries[at].hash == entries[at - 1].hash {
            at += 1;
        }
        cuts.push(at);
    }
    cuts.push(entries.len());
    let walked: Vec<Vec<R>> = cuts
        .windows(2)
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|w| walk(&rows, &entries[w[0]..w[1]], &per_id))
        .collect();
    Ok(walked.into_iter().flatten().collect())
}

/// One slice of sorted entries (never cutting an id): equal hashes are checked text by text.
fn walk<P: Copy, R>(
    rows: &Rows<'_, StringType>,
    entries: &[Entry<P>],
    per_id: &impl Fn(&[Entry<P>]) -> R,
) -> Vec<R> {
    let text = |e: &Entry<P>| text(rows, e.row);
    let mut out = Vec::new();
    let mut run: Vec<Entry<P>> = Vec::new();
    let mut start = 0;
    while start < entries.len() {
        let hash = entries[start].hash;
        let mut end = start + 1;
        while end < entries.len() && entries[end].hash == hash {
            end += 1;
        }
        let same = &entries[start..end];
        if same.len() == 1 || {
            let first = text(&same[0]);
            same[1..].iter().all(|e| text(e) == first)
        } {
            out.push(per_id(same));
        } else {
            // Different ids with one hash: split the run by text.
            run.clear();
            run.extend_from_slice(same);
            run.sort_by(|a, b| text(a).cmp(text(b)).then(a.row.cmp(&b.row)));
            let mut s = 0;
            while s < run.len() {
                let t = text(&run[s]);
                let mut e = s + 1;
                while e < run.len() && text(&run[e]) == t {
                    e += 1;
                }
                out.push(per_id(&run[s..e]));
                s = e;
            }
        }
        start = end;
    }
    out
}

/// True when no non-null id occurs twice.
pub(crate) fn distinct(ids: &StringChunked) -> Result<bool, TapeError> {
    distinct_with(ids, &hasher())
}

fn distinct_with(ids: &StringChunked, build: &impl BuildHasher) -> Result<bool, TapeError> {
    let nothing = std::iter::repeat_with(|| Ok(()));
    let once = per_id(ids, build, nothing, |same| same.len() == 1)?;
    Ok(once.into_iter().all(|o| o))
}

/// One borrower's exposure: the sum of its loans' balances (in units of the column's scale).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Exposure {
    pub units: i128,
    pub loans: u32,
}

/// The exposure of each borrower, one entry per distinct borrower id, in a fixed order.
pub(crate) fn exposures(
    borrowers: &StringChunked,
    balances: &Int128Chunked,
) -> Result<Vec<Exposure>, TapeError> {
    exposures_with(borrowers, balances, &hasher())
}

fn exposures_with(
    borrowers: &StringChunked,
    balances: &Int128Chunked,
    build: &impl BuildHasher,
) -> Result<Vec<Exposure>, TapeError> {
    let internal = |message: String| TapeError::Internal {
        context: "summing exposures per borrower",
        message,
    };
    if borrowers.len() != balances.len() {
        return Err(internal(format!(
            "{} ids against {} balances",
            borrowers.len(),
            balances.len()
        )));
    }
    let units = balances.iter().enumerate().map(|(row, v)| {
        let v = v.ok_or_else(|| internal(format!("no balance on row {}", row + 1)))?;
        // Balances travel through the sort as i64 (16-byte entries): 92 million million dollars
        // in cents, far beyond any loan.
        i64::try_from(v)
            .map_err(|_| internal(format!("the balance on row {} is too large", row + 1)))
    });
    let sums = per_id(borrowers, build, units, |same| {
        let units = same
            .iter()
            .try_fold(0i128, |sum, e| sum.checked_add(i128::from(e.payload)));
        (units, same.len() as u32)
    })?;
    sums.into_iter()
        .map(|(units, loans)| {
            Ok(Exposure {
                units: units.ok_or_else(|| internal("a borrower's exposure overflows".into()))?,
                loans,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every id hashes alike: every run is a collision and must be split by text.
    struct Colliding;

    impl BuildHasher for Colliding {
        type Hasher = Constant;
        fn build_hasher(&self) -> Constant {
            Constant
        }
    }

    struct Constant;

    impl std::hash::Hasher for Constant {
        fn finish(&self) -> u64 {
            7
        }
        fn write(&mut self, _: &[u8]) {}
    }

    fn ids(v: &[Option<&str>]) -> StringChunked {
        StringChunked::from_iter_options("id".into(), v.iter().copied())
    }

    fn balances(v: &[i128]) -> Int128Chunked {
        Int128Chunked::from_vec("b".into(), v.to_vec())
    }

    fn sorted(mut e: Vec<Exposure>) -> Vec<(i128, u32)> {
        let mut v: Vec<(i128, u32)> = e.drain(..).map(|e| (e.units, e.loans)).collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn duplicates_are_found_with_and_without_hash_collisions() {
        let unique = ids(&[Some("a"), Some("b"), None, Some("c"), None]);
        let dup = ids(&[Some("a"), Some("b"), Some("c"), Some("b")]);
        for (ca, want) in [(&unique, true), (&dup, false)] {
            assert_eq!(distinct(ca).unwrap(), want);
            assert_eq!(distinct_with(ca, &Colliding).unwrap(), want);
        }
    }

    #[test]
    fn exposures_sum_per_borrower_with_and_without_hash_collisions() {
        let b = ids(&[
            Some("x"),
            Some("y"),
            Some("x"),
            Some("z"),
            Some("y"),
            Some("x"),
        ]);
        let v = balances(&[100, 20, 5, 7, 1, 1000]);
        let want = vec![(7, 1), (21, 2), (1105, 3)];
        assert_eq!(sorted(exposures(&b, &v).unwrap()), want);
        assert_eq!(sorted(exposures_with(&b, &v, &Colliding).unwrap()), want);
    }

    #[test]
    fn chunked_columns_are_read_by_row() {
        let mut b = ids(&[Some("x"), Some("y")]);
        b.append(&ids(&[Some("x"), Some("w")])).unwrap();
        let mut v = balances(&[1, 2]);
        v.append(&balances(&[30, 400])).unwrap();
        assert!(b.chunks().len() > 1);
        assert_eq!(
            sorted(exposures(&b, &v).unwrap()),
            vec![(2, 1), (31, 2), (400, 1)]
        );
    }
}
