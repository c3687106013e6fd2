//! tcpdump filter expressions, compiled and run by libpcap.
//!
//! Why libpcap and not a parser of our own: an expression then means exactly what it means to
//! tcpdump (`tcp[tcpflags] & tcp-syn != 0`, `vlan and host x`, `portrange`, ...), because it is
//! the same compiler and the same classic-BPF interpreter (`pcap_offline_filter`). Why
//! loaded at run time (dlopen) and not linked: building flowsight then needs no libpcap
//! headers, and only a run that is given an expression needs the library, which every host
//! with tcpdump has; without it the run fails at start with one clear line.

use crate::AnnotateError;
use std::collections::HashMap;
use std::ffi::{CStr, CString, c_char, c_int, c_uint, c_void};

/// `struct bpf_program`.
#[repr(C)]
struct BpfProgram {
    bf_len: c_uint,
    bf_insns: *mut c_void,
}

/// `struct pcap_pkthdr`.
#[repr(C)]
struct PcapPkthdr {
    ts: libc::timeval,
    caplen: u32,
    len: u32,
}

type OpenDead = unsafe extern "C" fn(c_int, c_int) -> *mut c_void;
type Compile =
    unsafe extern "C" fn(*mut c_void, *mut BpfProgram, *const c_char, c_int, u32) -> c_int;
type GetErr = unsafe extern "C" fn(*mut c_void) -> *mut c_char;
type Close = unsafe extern "C" fn(*mut c_void);
type FreeCode = unsafe extern "C" fn(*mut BpfProgram);
type OfflineFilter = unsafe extern "C" fn(*const BpfProgram, *const PcapPkthdr, *const u8) -> c_int;

/// `PCAP_NETMASK_UNKNOWN`: `ip broadcast` cannot be used, everything else can.
const NETMASK_UNKNOWN: u32 = 0xffff_ffff;
/// Raw IP in files (LINKTYPE_RAW).
const LINKTYPE_RAW: u32 = 101;

/// libpcap's DLT_ number for a file's LINKTYPE_ number: the same but for the few that
/// libpcap's `linktype_to_dlt` translates (its table, as built on Linux).
fn dlt_of(linktype: u32) -> c_int {
    match linktype {
        100 => 11,          // ATM_RFC1483
        LINKTYPE_RAW => 12, // RAW
        102 => 15,          // SLIP_BSDOS
        103 => 16,          // PPP_BSDOS
        106 => 19,          // ATM_CLIP
        other => c_int::try_from(other).unwrap_or(c_int::MAX),
    }
}

/// The few libpcap functions used, from a library opened once.
struct Libpcap {
    handle: *mut c_void,
    open_dead: OpenDead,
    compile: Compile,
    geterr: GetErr,
    close: Close,
    freecode: FreeCode,
    offline_filter: OfflineFilter,
}

impl Libpcap {
    fn open() -> Result<Libpcap, AnnotateError> {
        let mut last = String::new();
        for name in [c"libpcap.so.0.8", c"libpcap.so.1", c"libpcap.so"] {
            // SAFETY: a NUL-terminated name; dlopen has no other precondition.
            let handle = unsafe { libc::dlopen(name.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
            if handle.is_null() {
                // SAFETY: dlerror returns a NUL-terminated string or NULL.
                let e = unsafe { libc::dlerror() };
                if !e.is_null() {
                    // SAFETY: checked non-NULL, NUL-terminated by dlerror's contract.
                    last = unsafe { CStr::from_ptr(e) }.to_string_lossy().into_owned();
                }
                continue;
            }
            let sym = |s: &CStr| -> Result<*mut c_void, AnnotateError> {
                // SAFETY: a live handle and a NUL-terminated symbol name.
                let p = unsafe { libc::dlsym(handle, s.as_ptr()) };
                if p.is_null() {
                    Err(AnnotateError::NoLibpcap(format!("{s:?} missing")))
                } else {
                    Ok(p)
                }
            };
            // SAFETY: each symbol is libpcap's function of that name, whose C signature the
            // type alias spells out (pcap/pcap.h, stable since libpcap 1.0).
            unsafe {
                return Ok(Libpcap {
                    handle,
                    open_dead: std::mem::transmute::<*mut c_void, OpenDead>(sym(
                        c"pcap_open_dead",
                    )?),
                    compile: std::mem::transmute::<*mut c_void, Compile>(sym(c"pcap_compile")?),
                    geterr: std::mem::transmute::<*mut c_void, GetErr>(sym(c"pcap_geterr")?),
                    close: std::mem::transmute::<*mut c_void, Close>(sym(c"pcap_close")?),
                    freecode: std::mem::transmute::<*mut c_void, FreeCode>(sym(c"pcap_freecode")?),
                    offline_filter: std::mem::transmute::<*mut c_void, OfflineFilter>(sym(
                        c"pcap_offline_filter",
                    )?),
                });
            }
        }
        Err(AnnotateError::NoLibpcap(last))
    }
}

impl Drop for Libpcap {
    fn drop(&mut self) {
        // SAFETY: the handle came from dlopen and no program compiled with it outlives self
        // (ExpressionFilter frees its programs first: field order).
        unsafe { libc::dlclose(self.handle) };
    }
}

/// One compiled program.
struct Program(BpfProgram);

/// A tcpdump filter expression, compiled once per link type it meets.
pub struct ExpressionFilter {
    // Field order: the programs are freed (in Drop) before the library is closed.
    /// Per link type: the program, or None when the expression means nothing there (a
    /// `tcp port 80` on a link type libpcap cannot filter): its packets never match.
    programs: HashMap<u32, Option<Program>>,
    lib: Libpcap,
    expression: CString,
    text: String,
}

impl std::fmt::Debug for ExpressionFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExpressionFilter")
            .field("expression", &self.text)
            .finish()
    }
}

impl ExpressionFilter {
    /// Load libpcap and compile `expression` for Ethernet, so that a bad expression is
    /// refused before anything starts.
    pub fn new(expression: &str) -> Result<ExpressionFilter, AnnotateError> {
        let bad = |message: String| AnnotateError::BadExpression {
            expression: expression.to_string(),
            message,
        };
        let c = CString::new(expression).map_err(|_| bad("contains a NUL byte".into()))?;
        let mut f = ExpressionFilter {
            programs: HashMap::new(),
            lib: Libpcap::open()?,
            expression: c,
            text: expression.to_string(),
        };
        // Ethernet: a bad expression is refused here, before anything starts.
        let ethernet = f.compile(1)?;
        f.programs.insert(1, Some(ethernet));
        Ok(f)
    }

    /// The expression as given.
    pub fn expression(&self) -> &str {
        &self.text
    }

    /// The program for `linktype`, compiled the first time; None when the expression cannot
    /// apply to that link type (said once in the log).
    fn program(&mut self, linktype: u32) -> Option<&Program> {
        if !self.programs.contains_key(&linktype) {
            let compiled = match self.compile(linktype) {
                Ok(p) => Some(p),
                Err(e) => {
                    log::warn!("{e}: packets of link type {linktype} never match it");
                    None
                }
            };
            self.programs.insert(linktype, compiled);
        }
        self.programs.get(&linktype).and_then(Option::as_ref)
    }

    fn compile(&self, linktype: u32) -> Result<Program, AnnotateError> {
        let lib = &self.lib;
        // SAFETY: pcap_open_dead allocates a handle for compiling; checked for NULL.
        let p = unsafe { (lib.open_dead)(dlt_of(linktype), 262_144) };
        if p.is_null() {
            return Err(AnnotateError::NoLibpcap("pcap_open_dead failed".into()));
        }
        let mut prog = BpfProgram {
            bf_len: 0,
            bf_insns: std::ptr::null_mut(),
        };
        // SAFETY: a live handle, a program to fill and a NUL-terminated expression.
        let rc =
            unsafe { (lib.compile)(p, &mut prog, self.expression.as_ptr(), 1, NETMASK_UNKNOWN) };
        let result = if rc != 0 {
            // SAFETY: pcap_geterr returns the handle's NUL-terminated message buffer.
            let msg = unsafe { CStr::from_ptr((lib.geterr)(p)) }
                .to_string_lossy()
                .into_owned();
            Err(AnnotateError::BadExpression {
                expression: self.text.clone(),
                message: msg,
            })
        } else {
            Ok(Program(prog))
        };
        // SAFETY: the handle is not used after this; the program does not refer to it.
        unsafe { (lib.close)(p) };
        result
    }

    /// Whether a packet of link type `linktype` (a pcap LINKTYPE_ number) passes the
    /// expression. `data` is what was captured, `orig_len` its length on the wire.
    pub fn matches(
        &mut self,
        linktype: u32,
        data: &[u8],
        orig_len: u32,
    ) -> Result<bool, AnnotateError> {
        let hdr = PcapPkthdr {
            ts: libc::timeval {
                tv_sec: 0,
                tv_usec: 0,
            },
            caplen: data.len() as u32,
            len: orig_len.max(data.len() as u32),
        };
        let offline_filter = self.lib.offline_filter;
        let Some(prog) = self.program(linktype) else {
            return Ok(false);
        };
        // SAFETY: a compiled program, a header whose caplen is data's length, and data; the
        // interpreter reads only within caplen.
        Ok(unsafe { offline_filter(&prog.0, &hdr, data.as_ptr()) } != 0)
    }
}

impl Drop for ExpressionFilter {
    fn drop(&mut self) {
        for (_, mut p) in self.programs.drain().filter_map(|(k, p)| Some((k, p?))) {
            // SAFETY: a program pcap_compile filled, freed once.
            unsafe { (self.lib.freecode)(&mut p.0) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(dst_port: u16) -> Vec<u8> {
        let mut f = vec![0u8; 14 + 20 + 8];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        f[14] = 0x45;
        f[16..18].copy_from_slice(&28u16.to_be_bytes());
        f[23] = 17;
        f[26..30].copy_from_slice(&[10, 0, 0, 1]);
        f[30..34].copy_from_slice(&[10, 0, 0, 2]);
        f[34..36].copy_from_slice(&5000u16.to_be_bytes());
        f[36..38].copy_from_slice(&dst_port.to_be_bytes());
        f
    }

    fn libpcap_or_skip() -> bool {
        if Libpcap::open().is_ok() {
            return true;
        }
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIP (no libpcap): expression filter tests"
        );
        false
    }

    #[test]
    fn filters_like_tcpdump() {
        if !libpcap_or_skip() {
            return;
        }
        let mut f = ExpressionFilter::new("udp and dst port 53 and host 10.0.0.1").unwrap();
        assert!(f.matches(1, &frame(53), 42).unwrap());
        assert!(!f.matches(1, &frame(54), 42).unwrap());
        // The same expression on raw IP (the link header stripped).
        assert!(f.matches(LINKTYPE_RAW, &frame(53)[14..], 28).unwrap());
        let e = ExpressionFilter::new("port banana")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("bad filter expression \"port banana\""),
            "{e}"
        );
        assert!(!e.contains('\n'));
    }

    /// A link type the expression cannot apply to (user DLT 147 has no IP layer for
    /// libpcap): its packets never match, and the run goes on.
    #[test]
    fn a_link_type_the_expression_cannot_filter_never_matches() {
        if !libpcap_or_skip() {
            return;
        }
        let mut f = ExpressionFilter::new("udp port 53").unwrap();
        for _ in 0..2 {
            assert!(!f.matches(147, &frame(53), 42).unwrap());
        }
        assert!(f.matches(1, &frame(53), 42).unwrap());
    }
}
