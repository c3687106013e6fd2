//! gzip around a capture: recognised by its magic (`1f 8b`), never by the file name, and
//! decompressed as a stream (every member, as `zcat` does).

use crate::Compression;
use flate2::read::MultiGzDecoder;
use std::io::{self, BufReader, Read};

/// The first two bytes of every gzip member.
pub(crate) const MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The decoder's input buffer: compressed reads of this size.
const INPUT_BUFFER: usize = 64 * 1024;

/// Looks at the first two bytes of `raw` and returns a stream of its capture bytes: a
/// decoder when they are the gzip magic, else `raw` itself (the two bytes put back).
pub(crate) fn decompressed(
    mut raw: Box<dyn Read + Send>,
) -> io::Result<(Box<dyn Read + Send>, Compression)> {
    let mut head = [0u8; 2];
    let mut n = 0;
    while n < head.len() {
        match raw.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let stream = io::Cursor::new(head).take(n as u64).chain(raw);
    if n == MAGIC.len() && head == MAGIC {
        let decoder = MultiGzDecoder::new(BufReader::with_capacity(INPUT_BUFFER, stream));
        Ok((Box::new(decoder), Compression::Gzip))
    } else {
        Ok((Box::new(stream), Compression::None))
    }
}
