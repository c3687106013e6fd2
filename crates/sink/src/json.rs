//! JSON lines: one record per line, ECS field names, nested objects.

use crate::{Sink, SinkError};
use flowsight_record::Record;
use std::io::{BufWriter, Write};

/// Writes each record as one JSON object followed by a newline.
pub struct JsonLines<W: Write> {
    out: BufWriter<W>,
}

impl<W: Write> JsonLines<W> {
    /// A sink writing to `out` through a 64 KiB buffer.
    pub fn new(out: W) -> Self {
        JsonLines {
            out: BufWriter::with_capacity(64 * 1024, out),
        }
    }

    /// The underlying writer, after flushing.
    pub fn into_inner(self) -> Result<W, SinkError> {
        self.out
            .into_inner()
            .map_err(|e| SinkError::Io(e.into_error()))
    }
}

impl JsonLines<Vec<u8>> {
    /// Take the serialized records out (after flushing the buffer into the vector), leaving
    /// the sink empty and ready for more.
    pub fn take_buffer(&mut self) -> Vec<u8> {
        let _ = self.out.flush();
        std::mem::take(self.out.get_mut())
    }
}

impl<W: Write> Sink for JsonLines<W> {
    fn write(&mut self, record: &Record) -> Result<(), SinkError> {
        serde_json::to_writer(&mut self.out, record).map_err(|source| {
            if source.is_io() {
                SinkError::Io(source.into())
            } else {
                SinkError::Serialize {
                    kind: record.kind(),
                    source,
                }
            }
        })?;
        self.out.write_all(b"\n")?;
        Ok(())
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        self.out.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_object_per_line_with_type_first_class() {
        let mut sink = JsonLines::new(Vec::new());
        for r in Record::examples() {
            sink.write(&r).unwrap();
        }
        let out = String::from_utf8(sink.into_inner().unwrap()).unwrap();
        let lines: Vec<_> = out.lines().collect();
        assert_eq!(lines.len(), Record::examples().len());
        for (line, r) in lines.iter().zip(Record::examples()) {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["type"], r.kind());
            assert!(v["@timestamp"].as_str().unwrap().ends_with('Z'));
        }
    }
}
