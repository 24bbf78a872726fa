//! A methodology file as YAML, written through serde: each value is serialized by serde_json
//! (so every string is a quoted, escaped scalar and every number exact), laid out as block YAML
//! with `{ value, source }` pairs and lists of scalars on one line. The layout is fixed, so the
//! same file always gives the same bytes; [`methodology_yaml`]'s caller reads the text back
//! through the strict loader before writing it.

use serde_json::{Map, Value};

use crate::methodology::{FIELDS, MethodologyFile, Notch};

/// The top-level keys in the order the published files use.
const TOP: [&str; 17] = [
    "id",
    "version",
    "effective_date",
    "supersedes",
    "title",
    "description",
    "rounding",
    "interpolation",
    "pass_criteria",
    "base_case",
    "mode",
    "market",
    "simulation",
    "overlays",
    "calibration",
    "common",
    "levels",
];

/// `file` as YAML, after `header` (comment lines, each starting `# `).
pub fn methodology_yaml(file: &MethodologyFile, header: &[String]) -> Result<String, String> {
    let v = serde_json::to_value(file).map_err(|e| e.to_string())?;
    let Value::Object(map) = v else {
        return Err("a methodology is not a mapping".into());
    };
    let mut out = String::new();
    for line in header {
        out.push_str("# ");
        out.push_str(line);
        out.push('\n');
    }
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort_by_key(|k| (TOP.iter().position(|t| t == k).unwrap_or(TOP.len()), *k));
    for k in keys {
        if matches!(
            k.as_str(),
            "market" | "simulation" | "calibration" | "common"
        ) {
            out.push('\n');
        }
        if k == "levels" {
            out.push('\n');
        }
        entry(&mut out, 0, k, &map[k.as_str()]);
    }
    Ok(out)
}

fn scalar(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

/// A value written on one line: a scalar, a list of scalars (or of lists of scalars), or a
/// `{ value, source }` pair.
fn inline(v: &Value) -> Option<String> {
    match v {
        Value::Object(m) if is_sourced(m) => Some(format!(
            "{{ value: {}, source: {} }}",
            inline(&m["value"])?,
            scalar(&m["source"])
        )),
        Value::Object(m) if m.is_empty() => Some("{}".into()),
        Value::Object(_) => None,
        Value::Array(a) => {
            let items: Option<Vec<String>> = a
                .iter()
                .map(|x| match x {
                    Value::Object(_) => None,
                    other => inline(other),
                })
                .collect();
            Some(format!("[{}]", items?.join(", ")))
        }
        other => Some(scalar(other)),
    }
}

fn is_sourced(m: &Map<String, Value>) -> bool {
    m.len() == 2 && m.contains_key("value") && m.contains_key("source")
}

/// Keys of a level (or of `common`) in the order of [`FIELDS`]; rating levels down the scale;
/// other maps alphabetically.
fn ordered(m: &Map<String, Value>) -> Vec<&String> {
    let mut keys: Vec<&String> = m.keys().collect();
    let notches: Option<Vec<Notch>> = keys.iter().map(|k| k.parse().ok()).collect();
    if let Some(n) = notches {
        let mut pairs: Vec<(Notch, &String)> = n.into_iter().zip(keys).collect();
        pairs.sort();
        return pairs.into_iter().map(|(_, k)| k).collect();
    }
    // A list item's `name` first (an overlay), then the fields in their order.
    keys.sort_by_key(|k| {
        (
            k.as_str() != "name",
            FIELDS
                .iter()
                .position(|f| f.name == k.as_str())
                .unwrap_or(FIELDS.len()),
            *k,
        )
    });
    keys
}

fn entry(out: &mut String, indent: usize, key: &str, v: &Value) {
    let pad = " ".repeat(indent);
    let k = if key
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !key.starts_with('-')
    {
        key.to_string()
    } else {
        scalar(&Value::String(key.to_string()))
    };
    if v.is_null() {
        out.push_str(&format!("{pad}{k}: null\n"));
        return;
    }
    if let Some(line) = inline(v) {
        out.push_str(&format!("{pad}{k}: {line}\n"));
        return;
    }
    out.push_str(&format!("{pad}{k}:\n"));
    match v {
        Value::Object(m) => {
            for kk in ordered(m) {
                entry(out, indent + 2, kk, &m[kk.as_str()]);
            }
        }
        Value::Array(items) => {
            for item in items {
                match item {
                    Value::Object(m) => {
                        let mut first = true;
                        for kk in ordered(m) {
                            let mut line = String::new();
                            entry(&mut line, indent + 4, kk, &m[kk.as_str()]);
                            if first {
                                // `- key: ...` in place of the first key's indentation.
                                out.push_str(&format!("{pad}  - {}", &line[indent + 4..]));
                                first = false;
                            } else {
                                out.push_str(&line);
                            }
                        }
                    }
                    other => {
                        out.push_str(&format!("{pad}  - {}\n", inline(other).unwrap_or_default()));
                    }
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::methodology::builtin_files;
    use std::path::Path;

    /// Every published methodology, written out and read back, is the same file.
    #[test]
    fn every_published_methodology_round_trips() {
        let files = builtin_files("btc-backed-consumer-loans/").unwrap();
        assert!(files.len() >= 4);
        for (name, bytes, _) in files {
            let text = String::from_utf8(bytes.to_vec()).unwrap();
            let wire: MethodologyFile = crate::yaml::from_str(Path::new(name), &text).unwrap();
            let written = methodology_yaml(&wire, &["a header".into()]).unwrap();
            let back: MethodologyFile = crate::yaml::from_str(Path::new("back.yaml"), &written)
                .unwrap_or_else(|e| panic!("{name}: {e}\n{written}"));
            assert_eq!(back, wire, "{name}");
            assert!(written.starts_with("# a header\nid: "));
        }
    }
}
