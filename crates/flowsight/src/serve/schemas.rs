//! JSON Schemas of the records (flow, http, dns, tls, weird, stats) for the OpenAPI
//! document, built from docs/schema.md.
//!
//! docs/schema.md lists every field each record type can write, with its type, and a test
//! of the record crate keeps it equal to the types; building the schemas from it (rather
//! than writing them a second time) means the API's document cannot drift from the log.
//! Each table row `| `a.b.c` | type | description |` becomes the property `c` of the nested
//! object `a.b`; `*` and `<name>` path segments become `additionalProperties`.

use serde_json::{Map, Value, json};

/// docs/schema.md, embedded.
const SCHEMA_MD: &str = include_str!("../../../../docs/schema.md");

/// The record types, each with its OpenAPI component name.
pub const RECORD_SCHEMAS: [(&str, &str); 6] = [
    ("flow", "FlowRecord"),
    ("http", "HttpRecord"),
    ("dns", "DnsRecord"),
    ("tls", "TlsRecord"),
    ("weird", "WeirdRecord"),
    ("stats", "StatsRecord"),
];

/// The schema of a leaf of type `ty` (docs/schema.md's types: ECS's field types).
fn leaf(ty: &str, description: &str) -> Value {
    let mut v = match ty {
        "keyword" => json!({ "type": "string" }),
        "date" => json!({ "type": "string", "format": "date-time" }),
        "ip" => json!({ "type": "string", "description": "an IPv4 or IPv6 address" }),
        "long" => json!({ "type": "integer" }),
        "double" => json!({ "type": "number" }),
        "boolean" => json!({ "type": "boolean" }),
        "keyword[]" => json!({ "type": "array", "items": { "type": "string" } }),
        "ip[]" => json!({ "type": "array", "items": { "type": "string" } }),
        "object[]" => json!({ "type": "array", "items": { "type": "object" } }),
        // A type this table does not know yet: say nothing rather than something wrong.
        _ => json!({}),
    };
    let description = description.trim();
    if !description.is_empty() {
        v["description"] = Value::String(description.to_string());
    }
    v
}

/// An empty object schema.
fn object() -> Value {
    json!({ "type": "object", "properties": {} })
}

/// Put `schema` at `path` (dotted, with `*` / `<name>` wildcards) under `root`.
fn insert(root: &mut Value, path: &[&str], schema: Value) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let wildcard = *first == "*" || (first.starts_with('<') && first.ends_with('>'));
    if rest.is_empty() {
        if wildcard {
            root["additionalProperties"] = schema;
        } else {
            root["properties"][*first] = schema;
        }
        return;
    }
    let child = if wildcard {
        &mut root["additionalProperties"]
    } else {
        &mut root["properties"][*first]
    };
    if !child.is_object() || child.get("properties").is_none() {
        *child = object();
    }
    insert(child, rest, schema);
}

/// The rows `(path, type, description)` of the field table of `## `type: "KIND"``.
fn rows(md: &str, kind: &str) -> Vec<(String, String, String)> {
    let heading = format!("## `type: \"{kind}\"`");
    let Some(start) = md.find(&heading) else {
        return Vec::new();
    };
    let section = &md[start + heading.len()..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    section
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            // "| `path` | type | description |" splits into ["", path, type, desc.., ""].
            let path = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            let ty = cells.get(2)?;
            let description = cells[3..cells.len().saturating_sub(1)].join("|");
            Some((path.to_string(), ty.to_string(), description))
        })
        .collect()
}

/// The schema of one record type, from the table of docs/schema.md `md`.
fn record_schema(md: &str, kind: &str) -> Value {
    let mut root = object();
    root["description"] = Value::String(format!(
        "A `{kind}` record, exactly as the JSON log writes it (docs/schema.md). Optional fields are left out when unknown."
    ));
    root["required"] = json!(["type", "@timestamp"]);
    for (path, ty, description) in rows(md, kind) {
        let schema = if path == "type" {
            json!({ "type": "string", "const": kind })
        } else {
            leaf(&ty, &description)
        };
        let parts: Vec<&str> = path.split('.').collect();
        // `@timestamp` is one name, dots or not.
        insert(&mut root, &parts, schema);
    }
    root
}

/// The OpenAPI document: the hand-written `openapi.json` with the record schemas added to
/// its components, and `Record` (what `/records` and `/stats` answer) made one of them,
/// told apart by `type`.
pub fn document(openapi: &str) -> String {
    let mut doc: Value = serde_json::from_str(openapi).unwrap_or_else(|_| json!({}));
    let schemas = &mut doc["components"]["schemas"];
    if !schemas.is_object() {
        *schemas = Value::Object(Map::new());
    }
    let mut one_of = Vec::new();
    let mut mapping = Map::new();
    for (kind, name) in RECORD_SCHEMAS {
        schemas[name] = record_schema(SCHEMA_MD, kind);
        let r = format!("#/components/schemas/{name}");
        one_of.push(json!({ "$ref": r }));
        mapping.insert(kind.to_string(), Value::String(r));
    }
    schemas["Record"] = json!({
        "description": "A record as the JSON log writes it, by its `type` (docs/schema.md).",
        "oneOf": one_of,
        "discriminator": { "propertyName": "type", "mapping": mapping },
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowsight_record::Record;

    /// Every field of `value` is allowed by `schema`, with the right JSON type; returns the
    /// first field that is not.
    fn check(schema: &Value, value: &Value, at: &str) -> Result<(), String> {
        let ty = schema["type"].as_str();
        let ok = match (ty, value) {
            (None, _) => true,
            (Some("string"), Value::String(s)) => schema["const"].as_str().is_none_or(|c| c == s),
            (Some("integer"), Value::Number(n)) => n.is_u64() || n.is_i64(),
            (Some("number"), Value::Number(_)) => true,
            (Some("boolean"), Value::Bool(_)) => true,
            (Some("array"), Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    check(&schema["items"], item, &format!("{at}[{i}]"))?;
                }
                true
            }
            (Some("object"), Value::Object(fields)) => {
                for (k, v) in fields {
                    let sub = match schema["properties"].get(k) {
                        Some(s) => s,
                        None if schema.get("additionalProperties").is_some() => {
                            &schema["additionalProperties"]
                        }
                        // An object[] item's fields are described in prose only.
                        None if schema.get("properties").is_none() => continue,
                        None => return Err(format!("{at}.{k} is not in the schema")),
                    };
                    check(sub, v, &format!("{at}.{k}"))?;
                }
                true
            }
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(format!("{at} = {value} does not fit {schema}"))
        }
    }

    #[test]
    fn every_example_record_fits_its_schema() {
        let doc: Value = serde_json::from_str(&document(super::super::api::OPENAPI)).unwrap();
        let schemas = &doc["components"]["schemas"];
        let examples = Record::examples();
        for (kind, name) in RECORD_SCHEMAS {
            let schema = &schemas[name];
            let props = schema["properties"].as_object().unwrap();
            assert!(props.len() > 2, "{name} has no fields: {schema}");
            for r in examples.iter().filter(|r| r.kind() == kind) {
                let v = serde_json::to_value(r).unwrap();
                check(schema, &v, kind).unwrap_or_else(|e| panic!("{name}: {e}"));
            }
        }
        // Each kind has an example, so each schema was checked against a real record.
        for (kind, _) in RECORD_SCHEMAS {
            assert!(
                examples.iter().any(|r| r.kind() == kind),
                "no {kind} example"
            );
        }
        // A field the schema lacks, or the wrong type, is caught.
        let example = examples.iter().find(|r| r.kind() == "flow").unwrap();
        let mut flow = serde_json::to_value(example).unwrap();
        flow["source"]["nope"] = json!(1);
        assert!(check(&schemas["FlowRecord"], &flow, "flow").is_err());
        let mut flow = serde_json::to_value(example).unwrap();
        flow["source"]["port"] = json!("80");
        assert!(check(&schemas["FlowRecord"], &flow, "flow").is_err());
    }

    #[test]
    fn wildcards_and_nesting() {
        let md = "## `type: \"x\"`\n\n| field | type | description |\n|---|---|---|\n\
                  | `type` | keyword | `x` |\n| `a.b.c` | long | C. |\n\
                  | `h.*` | keyword | Any header. |\n| `p.<name>.runs` | long | Runs. |\n";
        let s = record_schema(md, "x");
        assert_eq!(s["properties"]["type"]["const"], "x");
        assert_eq!(
            s["properties"]["a"]["properties"]["b"]["properties"]["c"]["type"],
            "integer"
        );
        assert_eq!(
            s["properties"]["h"]["additionalProperties"]["type"],
            "string"
        );
        assert_eq!(
            s["properties"]["p"]["additionalProperties"]["properties"]["runs"]["type"],
            "integer"
        );
    }
}
