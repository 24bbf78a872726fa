//! The column chunks and page headers of a Parquet file, checked before polars decodes it. A page header that
//! declares a negative count or size (`num_values = -1`) makes polars 0.55.2 cast it to a `usize`
//! near 2^64 and reserve that much memory: the allocation fails and the process aborts (exit
//! 134), which no guard can turn into an error ([`super::guard`] catches panics, not aborts). The
//! `tape_parquet` fuzz target found it (docs/reliability.md, "Fuzzing"), and then a second: a
//! column chunk whose offset in the footer is negative (or whose bytes run past the end of the
//! file), which polars-stream slices out of the file with `get_unchecked`: undefined behaviour in
//! a release build, an abort in a build with debug assertions. So every Parquet file absrate
//! reads has its column chunks and page headers checked here first, and one with a chunk outside
//! the file or a negative count is refused with the row group, column (and page), as the damaged
//! file it is.
//!
//! The headers are thrift structs in the compact protocol (parquet-format's `PageHeader`); this
//! reads only the `i32` counts polars sizes its buffers by and skips the rest. A header it cannot
//! parse is left for polars to refuse: this check only ever refuses a file for a count it read.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

use polars::io::parquet::read::FileMetadata;

/// The most bytes of a page header read: a header is a few dozen bytes, more only with large
/// statistics, which come after every count checked here.
const HEADER_WINDOW: u64 = 64 * 1024;

/// How deep structs may nest in a header (parquet-format's go three deep).
const DEPTH_MAX: usize = 16;

/// The counts of a page header, by their field ids (parquet.thrift): the header's own sizes, and
/// the number of values of a data page (v1 and v2), of a dictionary page, and v2's nulls and rows.
const COUNTS: [(&[i16], &str); 7] = [
    (&[2], "uncompressed_page_size"),
    (&[3], "compressed_page_size"),
    (&[5, 1], "data_page_header.num_values"),
    (&[7, 1], "dictionary_page_header.num_values"),
    (&[8, 1], "data_page_header_v2.num_values"),
    (&[8, 2], "data_page_header_v2.num_nulls"),
    (&[8, 3], "data_page_header_v2.num_rows"),
];

/// Checks that every column chunk of `metadata` (the footer of `file`) lies within the file and
/// reads the header of each of its pages, refusing the first chunk outside the file or count
/// below zero; `damaged` makes the caller's error of the message.
pub(crate) fn check<E>(
    file: &mut File,
    metadata: &FileMetadata,
    damaged: impl FnOnce(String) -> E,
) -> Result<(), E> {
    let length = file.metadata().map(|m| m.len()).unwrap_or(0);
    for (g, group) in metadata.row_groups.iter().enumerate() {
        for chunk in group.parquet_columns() {
            let column = chunk.descriptor().path_in_schema.join(".");
            // Where polars takes the chunk's bytes from (the dictionary page's offset, if any,
            // else the first data page's): it slices them out of the file unchecked.
            let offset = chunk
                .dictionary_page_offset()
                .unwrap_or(chunk.data_page_offset());
            let size = chunk.compressed_size();
            let within = u64::try_from(offset)
                .ok()
                .zip(u64::try_from(size).ok())
                .and_then(|(o, s)| Some((o, o.checked_add(s)?)))
                .filter(|(_, end)| *end <= length && chunk.data_page_offset() >= 0);
            let Some((start, end)) = within else {
                return Err(damaged(format!(
                    "row group {}, column `{column}`: the column's bytes (offset {offset}, \
                     {size} bytes, first data page at {}) are not within the file ({length} \
                     bytes): the file is damaged",
                    g + 1,
                    chunk.data_page_offset()
                )));
            };
            let mut at = start;
            let mut page = 0;
            while at < end {
                page += 1;
                let Some(header) = read_header(file, at, end) else {
                    break;
                };
                if let Some((name, value)) = header.negative() {
                    return Err(damaged(format!(
                        "row group {}, column `{column}`, page {page}: the page header's \
                         {name} is {value}, and a count cannot be negative: the file is damaged",
                        g + 1
                    )));
                }
                let Some(next) = header
                    .compressed_size()
                    .and_then(|s| at.checked_add(header.length)?.checked_add(s))
                else {
                    break;
                };
                at = next;
            }
        }
    }
    Ok(())
}

/// What was read of one page header.
struct Header {
    /// Its length in bytes, where the page's data starts.
    length: u64,
    /// Every `i32` field found, by its path of field ids.
    ints: Vec<(Vec<i16>, i64)>,
}

impl Header {
    fn get(&self, path: &[i16]) -> Option<i64> {
        self.ints.iter().find(|(p, _)| p == path).map(|(_, v)| *v)
    }

    fn negative(&self) -> Option<(&'static str, i64)> {
        COUNTS
            .iter()
            .find_map(|(path, name)| self.get(path).filter(|v| *v < 0).map(|v| (*name, v)))
    }

    fn compressed_size(&self) -> Option<u64> {
        self.get(&[3]).and_then(|s| u64::try_from(s).ok())
    }
}

fn read_header(file: &mut File, at: u64, end: u64) -> Option<Header> {
    let mut bytes = Vec::new();
    file.seek(SeekFrom::Start(at)).ok()?;
    file.take((end - at).min(HEADER_WINDOW))
        .read_to_end(&mut bytes)
        .ok()?;
    let mut cursor = Compact {
        bytes: &bytes,
        at: 0,
    };
    let mut ints = Vec::new();
    cursor.fields(&mut Vec::new(), &mut ints)?;
    Some(Header {
        length: cursor.at as u64,
        ints,
    })
}

/// A reader of the thrift compact protocol over the bytes of one header.
struct Compact<'a> {
    bytes: &'a [u8],
    at: usize,
}

// The compact protocol's type ids.
const BOOL_TRUE: u8 = 1;
const BOOL_FALSE: u8 = 2;
const BYTE: u8 = 3;
const I16: u8 = 4;
const I32: u8 = 5;
const I64: u8 = 6;
const DOUBLE: u8 = 7;
const BINARY: u8 = 8;
const LIST: u8 = 9;
const SET: u8 = 10;
const MAP: u8 = 11;
const STRUCT: u8 = 12;

impl Compact<'_> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    fn advance(&mut self, n: u64) -> Option<()> {
        let n = usize::try_from(n).ok()?;
        if n > self.bytes.len() - self.at {
            return None;
        }
        self.at += n;
        Some(())
    }

    fn varint(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..70).step_by(7) {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f).checked_shl(shift)?;
            if b & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }

    fn zigzag(&mut self) -> Option<i64> {
        let n = self.varint()?;
        Some((n >> 1) as i64 ^ -((n & 1) as i64))
    }

    /// The fields of a struct up to its stop byte; `i32`s are recorded under `path` + their id.
    fn fields(&mut self, path: &mut Vec<i16>, ints: &mut Vec<(Vec<i16>, i64)>) -> Option<()> {
        if path.len() > DEPTH_MAX {
            return None;
        }
        let mut id: i16 = 0;
        loop {
            let h = self.byte()?;
            if h == 0 {
                return Some(());
            }
            let delta = h >> 4;
            id = if delta == 0 {
                i16::try_from(self.zigzag()?).ok()?
            } else {
                id.checked_add(i16::from(delta))?
            };
            match h & 0x0f {
                I32 => {
                    let v = self.zigzag()?;
                    let mut p = path.clone();
                    p.push(id);
                    ints.push((p, v));
                }
                STRUCT => {
                    path.push(id);
                    self.fields(path, ints)?;
                    path.pop();
                }
                // A bool field carries its value in its type id.
                BOOL_TRUE | BOOL_FALSE => {}
                t => self.skip(t, path.len())?,
            }
        }
    }

    fn skip(&mut self, t: u8, depth: usize) -> Option<()> {
        if depth > DEPTH_MAX {
            return None;
        }
        match t {
            BOOL_TRUE | BOOL_FALSE | BYTE => self.advance(1),
            I16 | I32 | I64 => self.varint().map(drop),
            DOUBLE => self.advance(8),
            BINARY => {
                let n = self.varint()?;
                self.advance(n)
            }
            LIST | SET => {
                let h = self.byte()?;
                let n = match h >> 4 {
                    15 => self.varint()?,
                    n => u64::from(n),
                };
                // Every element takes a byte at least: a count beyond the bytes left is damage.
                if n > (self.bytes.len() - self.at) as u64 {
                    return None;
                }
                (0..n).try_for_each(|_| self.skip(h & 0x0f, depth + 1))
            }
            MAP => {
                let n = self.varint()?;
                if n == 0 {
                    return Some(());
                }
                if n > (self.bytes.len() - self.at) as u64 {
                    return None;
                }
                let kv = self.byte()?;
                (0..n).try_for_each(|_| {
                    self.skip(kv >> 4, depth + 1)?;
                    self.skip(kv & 0x0f, depth + 1)
                })
            }
            STRUCT => self.fields(&mut vec![0; depth + 1], &mut Vec::new()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(bytes: &[u8]) -> Option<Header> {
        let mut c = Compact { bytes, at: 0 };
        let mut ints = Vec::new();
        c.fields(&mut Vec::new(), &mut ints)?;
        Some(Header {
            length: c.at as u64,
            ints,
        })
    }

    // A data page header as parquet-format writes it: type 0, sizes 10 and 8, then
    // data_page_header { num_values, encoding 0, 3, 3 }. i32s are zigzag varints (3 -> 6).
    fn data_page(num_values: u8) -> Vec<u8> {
        vec![
            0x15, 0x00, // 1: type = 0
            0x15, 0x14, // 2: uncompressed_page_size = 10
            0x15, 0x10, // 3: compressed_page_size = 8
            0x2c, // 5: struct data_page_header
            0x15, num_values, // 1: num_values
            0x15, 0x00, 0x15, 0x06, 0x15, 0x06, // encodings
            0x00, // end of data_page_header
            0x00, // end of header
        ]
    }

    #[test]
    fn a_page_header_s_counts_and_length_are_read() {
        let h = header(&data_page(0x04)).expect("a header");
        assert_eq!(h.length, 17);
        assert_eq!(h.compressed_size(), Some(8));
        assert_eq!(h.get(&[5, 1]), Some(2));
        assert!(h.negative().is_none());
    }

    #[test]
    fn a_negative_count_is_found() {
        // zigzag 1 is -1
        let h = header(&data_page(0x01)).expect("a header");
        assert_eq!(h.negative(), Some(("data_page_header.num_values", -1)));
    }

    #[test]
    fn a_header_cut_short_or_nested_too_deep_is_left_to_polars() {
        let page = data_page(0x04);
        for n in 0..page.len() {
            assert!(header(&page[..n]).is_none(), "{n} bytes");
        }
        assert!(header(&[0x1c; 64]).is_none());
    }
}
