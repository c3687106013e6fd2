//! JSON lines: one record per line, ECS field names, nested objects.

use crate::{Sink, SinkError};
use flowsight_record::Record;
use std::io::Write;

/// Bytes gathered before they are handed to the writer.
const CHUNK: usize = 64 * 1024;

/// Writes each record as one JSON object followed by a newline.
///
/// Records are serialized with sonic-rs (SIMD string escaping: most of a record's bytes are
/// strings, and serde_json's byte-at-a-time escaping was a third of `flowsight read`'s time)
/// into one buffer that goes to the writer in 64 KiB chunks (or is gathered whole until its
/// caller takes it out: [`JsonLines::gathering`]).
pub struct JsonLines<W: Write> {
    out: W,
    buf: Vec<u8>,
    /// Bytes gathered before they go to `out` ([`CHUNK`], or never for
    /// [`JsonLines::gathering`]).
    chunk: usize,
}

impl<W: Write> JsonLines<W> {
    /// A sink writing to `out` in 64 KiB chunks.
    pub fn new(out: W) -> Self {
        JsonLines {
            out,
            buf: Vec::with_capacity(CHUNK + 4096),
            chunk: CHUNK,
        }
    }

    /// Hand the gathered bytes to the writer.
    fn drain(&mut self) -> Result<(), SinkError> {
        if !self.buf.is_empty() {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// The underlying writer, after flushing.
    pub fn into_inner(mut self) -> Result<W, SinkError> {
        self.drain()?;
        self.out.flush()?;
        Ok(self.out)
    }
}

impl JsonLines<Vec<u8>> {
    /// A sink whose caller takes the bytes out itself ([`JsonLines::write_pending`]): they
    /// stay in one buffer of `capacity` bytes to start with, never copied into a second one
    /// on the way (`read --threads` writes megabytes at a time).
    pub fn gathering(capacity: usize) -> Self {
        JsonLines {
            out: Vec::new(),
            buf: Vec::with_capacity(capacity),
            chunk: usize::MAX,
        }
    }

    /// Bytes serialized and not yet taken out.
    pub fn pending(&self) -> usize {
        self.out.len() + self.buf.len()
    }

    /// Write the serialized records to `w` and forget them, keeping the memory for the
    /// next ones (a thread that hands out megabytes at a time allocates nothing anew).
    pub fn write_pending(&mut self, w: &mut dyn Write) -> std::io::Result<()> {
        w.write_all(&self.out)?;
        w.write_all(&self.buf)?;
        self.out.clear();
        self.buf.clear();
        Ok(())
    }
}

impl<W: Write> Sink for JsonLines<W> {
    fn write(&mut self, record: &Record) -> Result<(), SinkError> {
        // A capture's flow, DNS, HTTP and TLS records are written by hand (json_flow.rs,
        // json_dns.rs, json_http.rs, json_tls.rs), the rest by serde.
        let by_hand = match record {
            Record::Flow(f) => crate::json_flow::write(&mut self.buf, f),
            Record::Dns(d) => crate::json_dns::write(&mut self.buf, d),
            Record::Http(h) => crate::json_http::write(&mut self.buf, h),
            Record::Tls(t) => crate::json_tls::write(&mut self.buf, t),
            _ => false,
        };
        if by_hand {
            self.buf.push(b'\n');
            if self.buf.len() >= self.chunk {
                self.drain()?;
            }
            return Ok(());
        }
        sonic_rs::to_writer(&mut self.buf, record).map_err(|e| SinkError::Serialize {
            kind: record.kind(),
            message: e.to_string(),
        })?;
        self.buf.push(b'\n');
        if self.buf.len() >= self.chunk {
            self.drain()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        self.drain()?;
        self.out.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_records_go_out_whole_and_the_memory_is_kept() {
        let mut sink = JsonLines::new(Vec::new());
        let r = &Record::examples()[0];
        // More than a chunk: some bytes moved to the inner vector, some still gathered.
        while sink.pending() <= CHUNK {
            sink.write(r).unwrap();
        }
        let n = sink.pending();
        let mut out = Vec::new();
        sink.write_pending(&mut out).unwrap();
        assert_eq!(out.len(), n);
        assert_eq!(sink.pending(), 0);
        assert!(sink.out.capacity() >= CHUNK && sink.buf.capacity() >= CHUNK);
        let one = String::from_utf8(out).unwrap();
        assert!(
            one.lines()
                .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())
        );
        assert!(one.ends_with('\n'));
    }

    #[test]
    fn a_gathering_sink_keeps_its_bytes_in_one_buffer_and_writes_the_same() {
        let (mut gathering, mut chunked) = (JsonLines::gathering(16), JsonLines::new(Vec::new()));
        for _ in 0..200 {
            for r in Record::examples() {
                gathering.write(&r).unwrap();
                chunked.write(&r).unwrap();
            }
        }
        assert!(gathering.pending() > CHUNK);
        // Nothing was copied into the inner vector on the way.
        assert!(gathering.out.is_empty());
        assert_eq!(gathering.pending(), chunked.pending());
        let (mut a, mut b) = (Vec::new(), Vec::new());
        gathering.write_pending(&mut a).unwrap();
        chunked.write_pending(&mut b).unwrap();
        assert_eq!(a, b);
        assert_eq!(gathering.pending(), 0);
        assert!(gathering.buf.capacity() > CHUNK);
    }

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
