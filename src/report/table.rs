//! Plain-text tables for the terminal: every column as wide as its widest cell, columns two
//! spaces apart, so no two values ever touch however long a sum of money or a name grows.

use std::fmt::Write as _;

/// Columns between the first (left-aligned labels) are right-aligned numbers unless marked
/// [`Align::Left`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// A table: a header row and rows of cells, rendered with an indent.
#[derive(Debug, Clone)]
pub struct Table {
    align: Vec<Align>,
    rows: Vec<Vec<String>>,
}

/// The space between two columns.
const GUTTER: &str = "  ";

impl Table {
    /// A table with `header`; the first column is left-aligned, the others right-aligned.
    pub fn new<S: Into<String>>(header: impl IntoIterator<Item = S>) -> Table {
        let header: Vec<String> = header.into_iter().map(Into::into).collect();
        let align = (0..header.len())
            .map(|i| if i == 0 { Align::Left } else { Align::Right })
            .collect();
        Table {
            align,
            rows: vec![header],
        }
    }

    /// Aligns column `i` as `a`.
    pub fn align(mut self, i: usize, a: Align) -> Table {
        if let Some(x) = self.align.get_mut(i) {
            *x = a;
        }
        self
    }

    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) {
        self.rows.push(cells.into_iter().map(Into::into).collect());
    }

    /// The table, each line starting with `indent` and ending in a newline (no trailing spaces).
    pub fn render(&self, indent: &str) -> String {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let mut widths = vec![0usize; columns];
        for r in &self.rows {
            for (w, c) in widths.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        let mut o = String::new();
        for r in &self.rows {
            let mut line = String::from(indent);
            for (i, c) in r.iter().enumerate() {
                if i > 0 {
                    line.push_str(GUTTER);
                }
                let w = widths[i];
                let _ = match self.align.get(i).copied().unwrap_or(Align::Right) {
                    Align::Left => write!(line, "{c:<w$}"),
                    Align::Right => write!(line, "{c:>w$}"),
                };
            }
            o.push_str(line.trim_end());
            o.push('\n');
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_as_wide_as_their_widest_cell_and_two_spaces_apart() {
        let mut t = Table::new(["level", "sold (USD)", "losses"]).align(2, Align::Left);
        t.row(["AAA", "$178,345,341.50", "$112,152,717.11"]);
        t.row(["B-", "$0.00", "-"]);
        assert_eq!(
            t.render("  "),
            "  level       sold (USD)  losses\n  \
               AAA    $178,345,341.50  $112,152,717.11\n  \
               B-               $0.00  -\n"
        );
    }
}
