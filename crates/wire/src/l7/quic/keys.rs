//! Initial packet protection (RFC 9001 §5; RFC 9369 §3.3 for version 2).
//!
//! The Initial secret is HKDF-Extract(salt of the version, the client's first Destination
//! Connection ID); each direction's secret is HKDF-Expand-Label of it (`client in`,
//! `server in`), and its AEAD key, IV and header protection key are HKDF-Expand-Label of
//! that (`quic key`, `quic iv`, `quic hp`; `quicv2 ...` in version 2). All of it is public
//! by design: Initial protection stops off-path tampering, not observers.

use super::header::LongHeader;
use super::{QuicError, Version};
use aes::Aes128;
use aes::cipher::{BlockEncrypt, KeyInit as _, generic_array::GenericArray};
use aes_gcm::Aes128Gcm;
use aes_gcm::aead::{Aead, Payload};
use hkdf::Hkdf;
use sha2::Sha256;

/// Bytes of the header protection sample (RFC 9001 §5.4.2).
const SAMPLE_LEN: usize = 16;
/// Bytes of the AEAD tag.
const TAG_LEN: usize = 16;

/// The keys of one direction's Initial packets.
#[derive(Clone)]
pub struct InitialKeys {
    key: [u8; 16],
    iv: [u8; 12],
    hp: [u8; 16],
    aead: Aes128Gcm,
    hp_cipher: Aes128,
}

impl std::fmt::Debug for InitialKeys {
    /// Keys are public here, but a debug print of a cipher state helps nobody: the raw
    /// key, IV and header protection key only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InitialKeys")
            .field("key", &self.key)
            .field("iv", &self.iv)
            .field("hp", &self.hp)
            .finish()
    }
}

/// A decrypted packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    /// The first byte with header protection removed.
    pub first_byte: u8,
    /// The full packet number.
    pub packet_number: u64,
    /// The plaintext payload (frames).
    pub payload: Vec<u8>,
}

/// The Initial secret of a connection (RFC 9001 §5.2): HKDF-Extract of the client's
/// first Destination Connection ID with the version's salt.
pub fn initial_secret(version: Version, client_dcid: &[u8]) -> [u8; 32] {
    let (prk, _) = Hkdf::<Sha256>::extract(Some(version.initial_salt()), client_dcid);
    prk.into()
}

/// HKDF-Expand-Label (RFC 8446 §7.1) with an empty context.
fn expand_label<const N: usize>(secret: &[u8; 32], label: &str) -> [u8; N] {
    // struct { uint16 length; opaque label<7..255> = "tls13 " + label; opaque context<0..255>; }
    let mut info = Vec::with_capacity(4 + 6 + label.len());
    info.extend_from_slice(&(N as u16).to_be_bytes());
    info.push((6 + label.len()) as u8);
    info.extend_from_slice(b"tls13 ");
    info.extend_from_slice(label.as_bytes());
    info.push(0);
    let hk = Hkdf::<Sha256>::from_prk(secret).expect("a 32-byte PRK is long enough");
    let mut out = [0u8; N];
    hk.expand(&info, &mut out)
        .expect("at most 32 bytes of output is within HKDF-SHA256's limit");
    out
}

impl InitialKeys {
    /// The keys of the client's Initial packets of a connection whose client chose
    /// `client_dcid` as the first Destination Connection ID (or got it from a Retry).
    pub fn client(version: Version, client_dcid: &[u8]) -> InitialKeys {
        let secret = expand_label(&initial_secret(version, client_dcid), "client in");
        InitialKeys::from_secret(version, &secret)
    }

    /// The keys of the server's Initial packets of the same connection (derived from the
    /// same client-chosen connection ID).
    pub fn server(version: Version, client_dcid: &[u8]) -> InitialKeys {
        let secret = expand_label(&initial_secret(version, client_dcid), "server in");
        InitialKeys::from_secret(version, &secret)
    }

    /// The packet protection keys of one direction's secret.
    pub fn from_secret(version: Version, secret: &[u8; 32]) -> InitialKeys {
        let (lk, li, lh) = if version.is_v2() {
            ("quicv2 key", "quicv2 iv", "quicv2 hp")
        } else {
            ("quic key", "quic iv", "quic hp")
        };
        let key: [u8; 16] = expand_label(secret, lk);
        let iv: [u8; 12] = expand_label(secret, li);
        let hp: [u8; 16] = expand_label(secret, lh);
        InitialKeys {
            aead: Aes128Gcm::new(GenericArray::from_slice(&key)),
            hp_cipher: Aes128::new(GenericArray::from_slice(&hp)),
            key,
            iv,
            hp,
        }
    }

    /// The AEAD key.
    pub fn key(&self) -> &[u8; 16] {
        &self.key
    }

    /// The AEAD IV.
    pub fn iv(&self) -> &[u8; 12] {
        &self.iv
    }

    /// The header protection key.
    pub fn hp(&self) -> &[u8; 16] {
        &self.hp
    }

    /// The header protection mask of a sample (AES-128-ECB of the 16 bytes).
    pub fn mask(&self, sample: &[u8; SAMPLE_LEN]) -> [u8; 16] {
        let mut block = GenericArray::clone_from_slice(sample);
        self.hp_cipher.encrypt_block(&mut block);
        block.into()
    }

    fn nonce(&self, packet_number: u64) -> [u8; 12] {
        let mut nonce = self.iv;
        for (n, p) in nonce[4..].iter_mut().zip(packet_number.to_be_bytes()) {
            *n ^= p;
        }
        nonce
    }

    /// Removes header protection and decrypts the payload of a long-header packet.
    /// `largest_pn` is the largest packet number already decrypted in this packet number
    /// space, to expand the truncated number (RFC 9000 §A.3); `None` takes it as sent,
    /// right for the first packets of a connection.
    pub fn open(
        &self,
        packet: &LongHeader<'_>,
        largest_pn: Option<u64>,
    ) -> Result<Opened, QuicError> {
        let bytes = packet.packet;
        let at = packet.pn_offset;
        let sample: &[u8; SAMPLE_LEN] = bytes
            .get(at + 4..at + 4 + SAMPLE_LEN)
            .and_then(|s| s.try_into().ok())
            .ok_or(QuicError::TooShortForSample(bytes.len()))?;
        let mask = self.mask(sample);
        let first_byte = bytes[0] ^ (mask[0] & 0x0f);
        let pn_len = usize::from(first_byte & 3) + 1;
        let mut header = bytes[..at + pn_len].to_vec();
        header[0] = first_byte;
        let mut truncated_pn = 0u64;
        for (i, b) in header[at..].iter_mut().enumerate() {
            *b ^= mask[1 + i];
            truncated_pn = truncated_pn << 8 | u64::from(*b);
        }
        let packet_number = decode_packet_number(largest_pn, truncated_pn, pn_len * 8);
        // The sample starts 4 bytes after the packet number's start and is 16 long, so at
        // least the tag's 16 bytes follow the packet number.
        let payload = self
            .aead
            .decrypt(
                GenericArray::from_slice(&self.nonce(packet_number)),
                Payload {
                    msg: &bytes[at + pn_len..],
                    aad: &header,
                },
            )
            .map_err(|_| QuicError::Decryption)?;
        Ok(Opened {
            first_byte,
            packet_number,
            payload,
        })
    }

    /// Protects a packet: the inverse of [`InitialKeys::open`], for tests and tools that
    /// write captures. `header` is the unprotected header up to and including the packet
    /// number (whose length the first byte's low bits give), with a Length field that
    /// already counts the packet number, `payload` and the 16-byte tag.
    ///
    /// # Panics
    /// When `header` is shorter than its packet number says or the packet leaves no room
    /// for the sample: the caller built it.
    pub fn seal(&self, header: &[u8], packet_number: u64, payload: &[u8]) -> Vec<u8> {
        let pn_len = usize::from(header[0] & 3) + 1;
        let at = header.len() - pn_len;
        let mut out = header.to_vec();
        let sealed = self
            .aead
            .encrypt(
                GenericArray::from_slice(&self.nonce(packet_number)),
                Payload {
                    msg: payload,
                    aad: header,
                },
            )
            .expect("AES-GCM encrypts any payload under 64 GiB");
        debug_assert_eq!(sealed.len(), payload.len() + TAG_LEN);
        out.extend_from_slice(&sealed);
        let sample: [u8; SAMPLE_LEN] = out[at + 4..at + 4 + SAMPLE_LEN]
            .try_into()
            .expect("a 16-byte slice");
        let mask = self.mask(&sample);
        out[0] ^= mask[0] & if out[0] & 0x80 != 0 { 0x0f } else { 0x1f };
        for i in 0..pn_len {
            out[at + i] ^= mask[1 + i];
        }
        out
    }
}

/// The full packet number of a truncated one (RFC 9000 §A.3): the value closest to the
/// one after `largest`.
fn decode_packet_number(largest: Option<u64>, truncated: u64, bits: usize) -> u64 {
    let Some(largest) = largest else {
        return truncated;
    };
    let expected = largest.saturating_add(1);
    let win = 1u64 << bits;
    let hwin = win / 2;
    let candidate = (expected & !(win - 1)) | truncated;
    if candidate.saturating_add(hwin) <= expected && candidate < (1u64 << 62) - win {
        candidate + win
    } else if candidate > expected.saturating_add(hwin) && candidate >= win {
        candidate - win
    } else {
        candidate
    }
}

#[cfg(test)]
mod tests {
    use super::decode_packet_number;

    #[test]
    fn packet_numbers_expand_as_rfc9000_a3() {
        // RFC 9000 §A.3's example: largest 0xa82f30ea, truncated 0x9b32 (16 bits).
        assert_eq!(
            decode_packet_number(Some(0xa82f_30ea), 0x9b32, 16),
            0xa82f_9b32
        );
        assert_eq!(decode_packet_number(None, 7, 8), 7);
        assert_eq!(decode_packet_number(Some(250), 2, 8), 258);
        assert_eq!(decode_packet_number(Some(3), 2, 8), 2);
    }
}
