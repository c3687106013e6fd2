//! Several sinks fed the same records.

use crate::{Sink, SinkError};
use flowsight_record::Record;

/// Writes every record to each of its sinks, in order; the first error stops the write.
pub struct Tee(pub Vec<Box<dyn Sink + Send>>);

impl Sink for Tee {
    fn write(&mut self, record: &Record) -> Result<(), SinkError> {
        for s in &mut self.0 {
            s.write(record)?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        for s in &mut self.0 {
            s.flush()?;
        }
        Ok(())
    }
}
