//! docs/schema.md must document exactly the fields the record types write.

use flowsight_record::Record;
use serde_json::Value;
use std::collections::BTreeSet;

/// Dotted paths of every leaf in a JSON value (arrays are leaves).
fn leaves(prefix: &str, v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaves(&p, child, out);
            }
        }
        _ => {
            out.insert(prefix.to_string());
        }
    }
}

/// The documented fields of one `## \`type: "..."\`` section of docs/schema.md.
fn documented(doc: &str, kind: &str) -> BTreeSet<String> {
    let heading = format!("## `type: \"{kind}\"`");
    let section = doc
        .split("\n## ")
        .find(|s| format!("## {s}").starts_with(&heading))
        .unwrap_or_else(|| panic!("docs/schema.md has no section {heading}"));
    section
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_string)
        .collect()
}

#[test]
fn schema_doc_lists_every_field_and_nothing_else() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/schema.md"))
        .expect("docs/schema.md");
    let mut kinds = BTreeSet::new();
    for record in Record::examples() {
        let kind = record.kind();
        assert!(kinds.insert(kind), "two examples of {kind}");
        let mut written = BTreeSet::new();
        leaves("", &serde_json::to_value(&record).unwrap(), &mut written);
        let docs = documented(&doc, kind);
        // `x.*` documents a map keyed at run time (counters by source).
        let covered = |f: &String| {
            docs.contains(f)
                || docs
                    .iter()
                    .filter_map(|d| d.strip_suffix(".*"))
                    .any(|p| f.starts_with(&format!("{p}.")))
        };
        let undocumented: Vec<_> = written.iter().filter(|f| !covered(f)).collect();
        assert!(
            undocumented.is_empty(),
            "{kind}: fields missing from docs/schema.md: {undocumented:?}"
        );
        let stale: Vec<_> = docs
            .iter()
            .filter(|d| match d.strip_suffix(".*") {
                Some(p) => !written.iter().any(|f| f.starts_with(&format!("{p}."))),
                None => !written.contains(*d),
            })
            .collect();
        assert!(
            stale.is_empty(),
            "{kind}: docs/schema.md lists fields the type never writes: {stale:?}"
        );
    }
}
