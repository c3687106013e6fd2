//! Gathers handshake messages from a TLS byte stream whose records (and messages) may be
//! split anywhere.

use super::TlsError;
use super::client_hello::ClientHello;
use super::record::{ContentType, Handshake, HandshakeType, parse_record};
use super::server_hello::ServerHello;

/// The default cap on the handshake bytes one collector keeps (64 KiB).
pub const DEFAULT_MAX_HANDSHAKE: usize = 64 * 1024;

/// Collects the plaintext handshake messages of one direction of a TLS connection.
///
/// Feed it the stream bytes in order with [`HandshakeCollector::push`]; it keeps partial
/// records and the handshake payload of complete ones, up to a cap. It stops collecting at
/// the first ChangeCipherSpec or application-data record: what follows is encrypted.
#[derive(Debug, Clone)]
pub struct HandshakeCollector {
    pending: Vec<u8>,
    handshake: Vec<u8>,
    max: usize,
    done: bool,
}

impl Default for HandshakeCollector {
    fn default() -> HandshakeCollector {
        HandshakeCollector::new()
    }
}

impl HandshakeCollector {
    /// A collector with the [`DEFAULT_MAX_HANDSHAKE`] cap.
    pub fn new() -> HandshakeCollector {
        HandshakeCollector::with_max(DEFAULT_MAX_HANDSHAKE)
    }

    /// A collector that keeps at most `max` handshake bytes (a partial record is bounded
    /// by [`super::MAX_RECORD_LEN`] anyway).
    pub fn with_max(max: usize) -> HandshakeCollector {
        HandshakeCollector {
            pending: Vec::new(),
            handshake: Vec::new(),
            max,
            done: false,
        }
    }

    /// True once an encrypted record was seen (nothing more will be collected).
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The handshake bytes collected so far.
    pub fn handshake_bytes(&self) -> &[u8] {
        &self.handshake
    }

    /// Feeds the next bytes of the stream. Errors for bytes that are not TLS records, or
    /// when the cap would be exceeded ([`TlsError::HandshakeTooLong`]); after an error the
    /// collector should be dropped.
    pub fn push(&mut self, mut stream: &[u8]) -> Result<(), TlsError> {
        // First complete a record left partial by the previous push.
        while !self.pending.is_empty() && !stream.is_empty() && !self.done {
            let need = match record_len(&self.pending) {
                Some(n) => n - self.pending.len(),
                None => 5 - self.pending.len(),
            };
            let take = need.min(stream.len());
            self.pending.extend_from_slice(&stream[..take]);
            stream = &stream[take..];
            let pending = std::mem::take(&mut self.pending);
            match parse_record(&pending)? {
                Some((rec, _)) => {
                    self.take_record(rec.content_type, rec.fragment)?;
                    let mut reuse = pending;
                    reuse.clear();
                    self.pending = reuse;
                }
                None => self.pending = pending,
            }
        }
        // Records wholly inside `stream` are read in place; only a partial tail is copied.
        while !stream.is_empty() && !self.done {
            match parse_record(stream)? {
                Some((rec, used)) => {
                    self.take_record(rec.content_type, rec.fragment)?;
                    stream = &stream[used..];
                }
                None => {
                    self.pending.extend_from_slice(stream);
                    break;
                }
            }
        }
        Ok(())
    }

    fn take_record(&mut self, ct: ContentType, fragment: &[u8]) -> Result<(), TlsError> {
        match ct {
            ContentType::Handshake => {
                let len = self.handshake.len() + fragment.len();
                if len > self.max {
                    return Err(TlsError::HandshakeTooLong { len, max: self.max });
                }
                self.handshake.extend_from_slice(fragment);
            }
            // TLS 1.3 middlebox compatibility puts a ChangeCipherSpec before the second
            // ClientHello of a HelloRetryRequest exchange: one before any handshake byte
            // ends nothing.
            ContentType::ChangeCipherSpec if self.handshake.is_empty() => {}
            ContentType::ChangeCipherSpec | ContentType::ApplicationData => self.done = true,
            _ => {}
        }
        Ok(())
    }

    /// The complete handshake messages collected so far, in order.
    pub fn messages(&self) -> impl Iterator<Item = Handshake<'_>> + '_ {
        let mut rest: &[u8] = &self.handshake;
        std::iter::from_fn(move || {
            let (h, used) = Handshake::parse(rest, self.max).ok()??;
            rest = &rest[used..];
            Some(h)
        })
    }

    /// The ClientHello, once the first message is complete and is one; `None` until then.
    pub fn client_hello(&self) -> Option<Result<ClientHello<'_>, TlsError>> {
        self.first_of(HandshakeType::ClientHello, ClientHello::from_handshake)
    }

    /// The ServerHello, once the first message is complete and is one; `None` until then.
    pub fn server_hello(&self) -> Option<Result<ServerHello<'_>, TlsError>> {
        self.first_of(HandshakeType::ServerHello, ServerHello::from_handshake)
    }

    fn first_of<'s, T>(
        &'s self,
        want: HandshakeType,
        parse: impl Fn(&Handshake<'s>) -> Result<T, TlsError>,
    ) -> Option<Result<T, TlsError>> {
        match Handshake::parse(&self.handshake, self.max) {
            Ok(Some((h, _))) if h.msg_type == want => Some(parse(&h)),
            Ok(Some((h, _))) => Some(Err(TlsError::UnexpectedHandshake {
                expected: u8::from(want),
                got: u8::from(h.msg_type),
            })),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

/// The full length of the record whose header starts `buf`, once the header is there.
fn record_len(buf: &[u8]) -> Option<usize> {
    (buf.len() >= 5).then(|| 5 + usize::from(u16::from_be_bytes([buf[3], buf[4]])))
}
