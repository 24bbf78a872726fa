//! A plain numeric table as Parquet: one `u64` key column, any number of `f64` columns, and
//! key-value metadata (what `absrate simulate --out` writes, one row per path, and `simulate
//! merge` reads back). Values round-trip exactly.

use std::fs::File;
use std::path::Path;

use polars::prelude::*;

use super::error::TapeError;
use super::write::atomically;

/// A table read back: the key column, the value columns in file order, the metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct NumericTable {
    pub key_name: String,
    pub keys: Vec<u64>,
    pub columns: Vec<(String, Vec<f64>)>,
    pub metadata: Vec<(String, String)>,
}

/// The table as Parquet bytes (for a transaction of several outputs).
pub fn numeric_table_bytes(t: &NumericTable) -> Result<Vec<u8>, TapeError> {
    let mut df = frame(t)?;
    let mut out = std::io::Cursor::new(Vec::new());
    ParquetWriter::new(&mut out)
        .with_key_value_metadata(Some(KeyValueMetadata::from_static(t.metadata.clone())))
        .finish(&mut df)
        .map_err(TapeError::internal("writing the table"))?;
    Ok(out.into_inner())
}

fn frame(t: &NumericTable) -> Result<DataFrame, TapeError> {
    let mut cols: Vec<Column> = Vec::with_capacity(t.columns.len() + 1);
    cols.push(Column::new(t.key_name.as_str().into(), t.keys.clone()));
    for (name, values) in &t.columns {
        cols.push(Column::new(name.as_str().into(), values.clone()));
    }
    DataFrame::new_infer_height(cols).map_err(TapeError::internal("building the table"))
}

/// Writes the table atomically (a failed write leaves nothing).
pub fn write_numeric_table(out: &Path, t: &NumericTable) -> Result<(), TapeError> {
    let mut df = frame(t)?;
    let kv = KeyValueMetadata::from_static(t.metadata.clone());
    atomically(out, |tmp| {
        let file = File::create(tmp).map_err(|e| e.to_string())?;
        ParquetWriter::new(file)
            .with_key_value_metadata(Some(kv))
            .finish(&mut df)
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
}

/// Reads a table written by [`write_numeric_table`]: the first column is the key.
pub fn read_numeric_table(path: &Path) -> Result<NumericTable, TapeError> {
    let read_err = |message: String| TapeError::TableRead {
        path: path.to_path_buf(),
        message,
    };
    crate::input::check(path).map_err(|e| TapeError::unreadable(path, &e))?;
    let mut file = File::open(path).map_err(|e| TapeError::unreadable(path, &e))?;
    let pages = file
        .try_clone()
        .map_err(|e| TapeError::unreadable(path, &e))?;
    // polars reads the file here: a panic of its own is bad input (guard.rs), and its page
    // headers are checked before it decodes them (pages.rs).
    let (metadata, df) = super::guard::reading(
        || {
            let mut reader = ParquetReader::new(pages);
            let footer = reader
                .get_metadata()
                .map_err(|e| read_err(e.to_string()))?
                .clone();
            super::pages::check(&mut file, &footer, read_err)?;
            let metadata: Vec<(String, String)> = footer
                .key_value_metadata()
                .iter()
                .flatten()
                // Polars adds its own `ARROW:schema`; the table's metadata is the rest.
                .filter(|kv| !kv.key.starts_with("ARROW:"))
                .map(|kv| (kv.key.clone(), kv.value.clone().unwrap_or_default()))
                .collect();
            let df = reader.finish().map_err(|e| read_err(e.to_string()))?;
            Ok((metadata, df))
        },
        read_err,
    )?;
    let mut it = df.columns().iter();
    let key = it
        .next()
        .ok_or_else(|| read_err("the file has no columns".into()))?;
    let keys: Vec<u64> = key
        .u64()
        .map_err(|_| read_err(format!("column `{}` is not u64", key.name())))?
        .into_no_null_iter()
        .collect();
    let mut columns = Vec::new();
    for c in it {
        let values: Vec<f64> = c
            .f64()
            .map_err(|_| read_err(format!("column `{}` is not f64", c.name())))?
            .into_no_null_iter()
            .collect();
        columns.push((c.name().to_string(), values));
    }
    Ok(NumericTable {
        key_name: key.name().to_string(),
        keys,
        columns,
        metadata,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_round_trips_exactly_with_its_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.parquet");
        let t = NumericTable {
            key_name: "path".into(),
            keys: vec![0, 1, 2],
            columns: vec![
                ("a".into(), vec![0.1, 1.0 / 3.0, f64::MIN_POSITIVE]),
                ("b".into(), vec![1e300, -0.0, 2.5]),
            ],
            metadata: vec![("absrate.test".into(), "{\"x\": 1}".into())],
        };
        write_numeric_table(&p, &t).unwrap();
        assert_eq!(read_numeric_table(&p).unwrap(), t);
        // The bytes written by a transaction are the file's.
        assert_eq!(numeric_table_bytes(&t).unwrap(), std::fs::read(&p).unwrap());
    }
}
